// Prints jest's totals in the plain form CI reads, "N passed, N failed", as the very last line of
// the run: jest writes its own summary to stderr after the reporters run, so this waits for exit.
//
// Jest (running in band on a 2-core machine) also fails the run, with every test passed, when code
// outlives its test file: a `require` or a console call after the file's environment was torn down
// sets process.exitCode = 1. The totals then count that as one failure, so they agree with the exit
// code, and say where to look.
const { writeSync } = require('node:fs');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    process.once('exit', (code) => {
      const leaked = failed === 0 && code !== 0 ? 1 : 0;
      if (leaked > 0) {
        writeSync(
          1,
          `jest exits ${code} with every test passed: code ran after its test file ended ` +
            `(look above for "after the Jest environment has been torn down" or "Cannot log after tests are done")\n`,
        );
      }
      writeSync(1, `${results.numPassedTests} passed, ${failed + leaked} failed\n`);
    });
  }
}
module.exports = TotalsReporter;
