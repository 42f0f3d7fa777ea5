// Bun preload for every test file: an unhandled rejection is a failed test, not a log line.
process.on('unhandledRejection', (reason) => {
  throw reason
})
