// Prints one plain closing line from Vitest's JSON report: "tests: N passed, N failed, N skipped".
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? '.netspec/vitest-report.json'
try {
  const r = JSON.parse(readFileSync(file, 'utf8'))
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
} catch (e) {
  console.log(`tests: no report at ${file} (${e.message})`)
}
