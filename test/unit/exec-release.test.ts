// releaseAfterExit (src/exec/local.ts): a command's pipes are let go once it has exited and they have been quiet,
// so a backgrounded orphan cannot hold a run open for ever; but output written before that must never be lost
// because Node's event loop stalled (a loaded machine runs due timers before it polls the pipes).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, test } from 'vitest'
import { releaseAfterExit } from '../../src/exec/local.js'

/** Runs `sh -c script`, stalls the event loop for `stallMs` right after the exit is seen, returns what stdout gave. */
async function run(script: string, stallMs: number): Promise<string> {
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  child.stdout.on('data', (b: Buffer) => out.push(b))
  releaseAfterExit(child, 100)
  child.once('exit', () => {
    const until = performance.now() + stallMs
    while (performance.now() < until) {
      // a synchronous stall, as when the machine does not schedule this process
    }
  })
  await once(child, 'close')
  return Buffer.concat(out).toString()
}

describe('releaseAfterExit', () => {
  test('output that reached the pipe during a stall after the exit is still read', async () => {
    // sh exits at once; its background child writes 50 ms later, while the loop is stalled for 1 s.
    expect(await run('(sleep 0.05; echo late) &', 1000)).toBe('late\n')
  })

  test('an orphan that stays quiet is let go: the run ends without its later output', async () => {
    expect(await run('(sleep 2; echo never) &', 0)).toBe('') // had it waited for the orphan, 'never' would be here
  })
})
