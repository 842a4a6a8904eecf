// The local executor must never lose what a command printed before it exited: its wait for an orphan that
// keeps the pipes open (a backgrounded server) may only begin once the command's own output has been read.
import { existsSync } from 'node:fs'
import { expect, test } from 'vitest'
import { createLocalExecutor } from '../../src/exec/local.js'

const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)

test('output printed just before exit is kept when the event loop is busy with other results', async () => {
  const exec = createLocalExecutor()
  // Many commands finish in one turn of the loop and each result costs synchronous work (parsing a snapshot):
  // a command's exit is then seen, and its timers fall due, before the loop polls its pipe again.
  let lost = 0
  for (let round = 0; round < 5; round++) {
    const runs = Array.from({ length: 40 }, (_, i) =>
      exec.run(['sh', '-c', `sleep 0.0${i % 5}; echo line-${i}`]).then((r) => {
        block(12)
        return r
      }),
    )
    const results = await Promise.all(runs)
    results.forEach((r, i) => {
      expect(r.exitCode).toBe(0)
      if (r.stdout !== `line-${i}\n`) lost++
    })
  }
  expect(lost).toBe(0) // before the fix: 7 of 200 read back as empty
}, 60_000)

test('a command that leaves a background process holding its output returns without waiting for it', async () => {
  const exec = createLocalExecutor()
  const r = await exec.run(['sh', '-c', 'echo started; sleep 5 >/dev/null 2>&1 & sleep 5 & echo "orphan $!"'])
  expect(r.exitCode).toBe(0)
  const pid = Number(/^orphan (\d+)$/m.exec(r.stdout)?.[1])
  expect(r.stdout).toBe(`started\norphan ${pid}\n`)
  expect(existsSync(`/proc/${pid}`)).toBe(true) // it still holds the pipe: run() did not wait for it
  process.kill(pid, 'SIGKILL') // ours, by PID
}, 10_000)
