// The local executor keeps output that reached its pipe while the event loop was blocked: timers run before
// the poll phase that reads the pipes, and the quiet-period check used to destroy them unread (seen as
// `ip -j route show` exiting 0 with empty stdout while a test was busy).
import { expect, test } from 'vitest'
import { createLocalExecutor } from '../../src/exec/local.js'

const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // no event loop turn
  }
}

test('output written soon after the exit survives a blocked event loop', async () => {
  const exec = createLocalExecutor()
  // The shell exits at once; its child writes 50 ms later, well inside the 100 ms quiet period.
  const pending = exec.run(['sh', '-c', '(sleep 0.05; printf "[]") & exit 0'])
  await new Promise((r) => setTimeout(r, 30)) // the exit is seen meanwhile
  // Busy in the check phase, after this turn's poll: the next turn runs timers before it reads the pipe.
  await new Promise<void>((r) => setImmediate(() => (busy(400), r())))
  const r = await pending
  expect(r.exitCode).toBe(0)
  expect(r.stdout).toBe('[]')
})
