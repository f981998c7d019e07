// kafkajs 2.2.4 schedules a timer with a negative delay on Node ≥ 24 (kafkajs #1751): Node clamps
// it to 1 ms, so the warning is noise that would bury real ones in the test output.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
});
