// Prints jest's totals as the one closing line CI reads: "N passed, N failed".
const fs = require('node:fs');

const file = process.argv[2];
const results = fs.existsSync(file) && fs.statSync(file).size > 0 ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
if (!results) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
const skipped = results.numPendingTests ? `, ${results.numPendingTests} skipped` : '';
console.log(`${results.numPassedTests} passed, ${failed} failed${skipped}`);
