// Prints jest's totals in the plain form CI reads, "N passed, N failed", as the very last line of
// the run: jest writes its own summary to stderr after the reporters run, so this waits for exit.
const { writeSync } = require('node:fs');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed\n`;
    process.once('exit', () => writeSync(1, line));
  }
}
module.exports = TotalsReporter;
