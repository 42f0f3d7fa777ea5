#!/bin/sh
# Starts and stops a throwaway RabbitMQ node for bench/run.ts, never for tests or CI.
#
#   bench/peers/rabbitmq.sh start    prints "amqp 127.0.0.1:PORT pid BEAM_PID version X" when ready
#   bench/peers/rabbitmq.sh stop
#   bench/peers/rabbitmq.sh version  prints RabbitMQ and Erlang/OTP versions
#   bench/peers/rabbitmq.sh kill9    SIGKILLs the node's beam.smp (crash test; data dir kept)
#   bench/peers/rabbitmq.sh respawn  starts the node again on the kept data dir and returns at
#                                    once (the caller polls AMQP to time the recovery)
#
# Debian's package (apt-get install -y rabbitmq-server) is used as installed; everything the node
# writes goes under $BENCH_RABBITMQ_DIR (default /tmp/warren-bench-rabbitmq), which `start` wipes
# first so every run begins from an empty node. The node listens on 127.0.0.1 only, and epmd too.
set -eu

DIR="${BENCH_RABBITMQ_DIR:-/tmp/warren-bench-rabbitmq}"
PORT="${BENCH_RABBITMQ_PORT:-5673}"
BIN=/usr/lib/rabbitmq/bin

# Our own env/config/plugin files so /etc/rabbitmq and a system node are never touched. HOME is
# moved too because the Erlang cookie lives there and rabbitmqctl must read the same one.
export HOME="$DIR/home"
export RABBITMQ_NODENAME=bench@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$PORT"
export RABBITMQ_DIST_PORT=$((PORT + 20000))
export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
export RABBITMQ_LOG_BASE="$DIR/log"
export RABBITMQ_PID_FILE="$DIR/beam.pid"
export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf"
export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
export ERL_EPMD_ADDRESS=127.0.0.1
# Keep the distribution port (rabbitmqctl talks to the node through it) on loopback as well.
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

if [ ! -x "$BIN/rabbitmq-server" ]; then
  echo "rabbitmq-server is not installed: apt-get update && apt-get install -y rabbitmq-server" >&2
  exit 1
fi

version() {
  rabbit=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown)
  otp=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null || echo unknown)
  erts=$(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null || echo unknown)
  echo "rabbitmq $rabbit erlang OTP-$otp ($erts)"
}

case "${1:-}" in
  start)
    if [ -f "$RABBITMQ_PID_FILE" ] && kill -0 "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null; then
      echo "a bench RabbitMQ node is already running (pid $(cat "$RABBITMQ_PID_FILE")); stop it first" >&2
      exit 1
    fi
    rm -rf "$DIR"
    mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
    : >"$RABBITMQ_CONF_ENV_FILE"
    echo '[].' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    echo '[].' >"$RABBITMQ_ADVANCED_CONFIG_FILE"
    # Defaults otherwise; only the file log is quietened so a 1M-message run does not fill it.
    cat >"$RABBITMQ_CONFIG_FILE.conf" <<EOF
log.console = false
log.file.level = warning
EOF
    # The script stays in the foreground, so detach it ourselves; `rabbitmqctl wait` returns once
    # the pid file exists and the rabbit application has booted.
    nohup "$BIN/rabbitmq-server" >"$DIR/stdout.log" 2>&1 &
    if ! "$BIN/rabbitmqctl" -q wait --timeout 120 "$RABBITMQ_PID_FILE" >"$DIR/wait.log" 2>&1; then
      echo "RabbitMQ did not start; see $DIR/stdout.log and $DIR/log" >&2
      tail -20 "$DIR/stdout.log" >&2 || true
      exit 1
    fi
    echo "amqp 127.0.0.1:$PORT pid $(cat "$RABBITMQ_PID_FILE") $(version)"
    ;;
  stop)
    if [ -f "$RABBITMQ_PID_FILE" ]; then
      pid=$(cat "$RABBITMQ_PID_FILE")
      "$BIN/rabbitmqctl" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
      rm -f "$RABBITMQ_PID_FILE"
    fi
    # epmd was started by our node; end it only when no other Erlang node still uses it.
    if command -v epmd >/dev/null 2>&1 && [ -z "$(epmd -names 2>/dev/null | grep '^name ')" ]; then
      epmd -kill >/dev/null 2>&1 || true
    fi
    ;;
  kill9)
    if [ -f "$RABBITMQ_PID_FILE" ]; then
      pid=$(cat "$RABBITMQ_PID_FILE")
      kill -9 "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
      rm -f "$RABBITMQ_PID_FILE"
    fi
    ;;
  respawn)
    nohup "$BIN/rabbitmq-server" >>"$DIR/stdout.log" 2>&1 &
    echo "spawned"
    ;;
  version)
    version
    ;;
  *)
    echo "usage: $0 start|stop|version|kill9|respawn" >&2
    exit 2
    ;;
esac
