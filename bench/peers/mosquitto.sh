#!/bin/sh
# Starts and stops a throwaway Mosquitto broker for bench/run.ts, never for tests or CI.
#
#   bench/peers/mosquitto.sh start PORT   prints "mqtt 127.0.0.1:PORT pid PID version X" when ready
#   bench/peers/mosquitto.sh stop
#   bench/peers/mosquitto.sh version      prints the Mosquitto version
#
# Debian's package (apt-get install -y mosquitto) is used as installed, with our own generated
# config under $BENCH_MOSQUITTO_DIR (default /tmp/warren-bench-mosquitto), which `start` wipes
# first. /etc/mosquitto and any system service are never touched. Settings changed from the
# defaults (each is documented in BENCHMARKS.md):
#   listener PORT 127.0.0.1      loopback only, on the port the runner picked
#   allow_anonymous true         2.x refuses anonymous clients by default; Warren lets them in
#   persistence false            the default, spelled out: nothing is written to disk
#   max_inflight_messages N      QoS 1 deliveries in flight per client (default 20); Warren gets
#                                the same as mqttReceiveMaximum (MQTT_SETTINGS in peers/broker.ts)
#   max_queued_messages 0        no per-client queue limit (default 1000, which also drops QoS 0
#                                messages once 1000 are pending); Warren gets a limit of 100M
#   log_type error + warning,    warnings only, as Warren (WARREN_LOG_LEVEL=warn) and RabbitMQ;
#   connection_messages false    no line per connection
set -eu

DIR="${BENCH_MOSQUITTO_DIR:-/tmp/warren-bench-mosquitto}"
INFLIGHT="${BENCH_MQTT_INFLIGHT:-256}"
BIN="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

if [ ! -x "$BIN" ]; then
  echo "mosquitto is not installed: apt-get update && apt-get install -y mosquitto" >&2
  exit 1
fi

version() {
  v=$("$BIN" -h 2>/dev/null | head -1 || true)
  pkg=$(dpkg-query -W -f='${Version}' mosquitto 2>/dev/null || echo unknown)
  echo "$v (Debian $pkg)"
}

case "${1:-}" in
  start)
    PORT="${2:?usage: $0 start PORT}"
    if [ -f "$DIR/mosquitto.pid" ] && kill -0 "$(cat "$DIR/mosquitto.pid")" 2>/dev/null; then
      echo "a bench Mosquitto is already running (pid $(cat "$DIR/mosquitto.pid")); stop it first" >&2
      exit 1
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    cat >"$DIR/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_inflight_messages $INFLIGHT
max_queued_messages 0
log_dest file $DIR/mosquitto.log
log_type error
log_type warning
connection_messages false
CONF
    # Started as root, Mosquitto drops to its own user before it opens the log: let it write there.
    : >"$DIR/mosquitto.log"
    if id mosquitto >/dev/null 2>&1; then chown mosquitto "$DIR/mosquitto.log"; fi
    # As many sockets as the 10,000-connection row needs (up to the hard limit).
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    nohup "$BIN" -c "$DIR/mosquitto.conf" >"$DIR/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" >"$DIR/mosquitto.pid"
    # Ready once the listener is bound: up to 10 s, 0.1 s at a time.
    i=0
    hexport=$(printf '%04X' "$PORT")
    while ! grep -q "0100007F:$hexport 00000000:0000 0A" /proc/net/tcp 2>/dev/null; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "Mosquitto exited during startup; see $DIR/stdout.log and $DIR/mosquitto.log" >&2
        cat "$DIR/stdout.log" "$DIR/mosquitto.log" >&2 2>/dev/null || true
        exit 1
      fi
      i=$((i + 1))
      if [ "$i" -gt 100 ]; then
        echo "Mosquitto did not listen on 127.0.0.1:$PORT within 10 s" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
      fi
      sleep 0.1
    done
    echo "mqtt 127.0.0.1:$PORT pid $pid $(version)"
    ;;
  stop)
    if [ -f "$DIR/mosquitto.pid" ]; then
      pid=$(cat "$DIR/mosquitto.pid")
      kill "$pid" 2>/dev/null || true
      # Up to 10 s for a clean exit, then SIGKILL.
      i=0
      while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
      done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$DIR/mosquitto.pid"
    fi
    ;;
  version)
    version
    ;;
  *)
    echo "usage: $0 start PORT|stop|version" >&2
    exit 2
    ;;
esac
