// `netspec engine` runs the dockerd script the package ships (scripts/dockerd.sh), from the built CLI.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { buildDist } from '../fixtures/dist.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const netspec = (...args: string[]) => spawnSync(process.execPath, [`${root}dist/cli/main.js`, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
const hasDocker = spawnSync('sh', ['-c', 'command -v docker']).status === 0

describe('netspec engine', { timeout: 60_000 }, () => {
  test.skipIf(!hasDocker)('status says whether an engine answers and who started it', async () => {
    await buildDist()
    const answers = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0
    const r = netspec('engine', 'status')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(answers ? 'engine: answers' : 'engine: not answering')
    expect(r.stdout).toMatch(/started by netspec engine: (no|pid \d+)/)
  })

  test('start with an engine already answering starts nothing; usage errors exit 2 with the help', async () => {
    await buildDist()
    if (hasDocker && spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0) {
      const r = netspec('engine', 'start')
      expect(r.status).toBe(0)
      expect(r.stdout).toContain('a Docker engine already answers; not starting another')
    }
    const bad = netspec('engine', 'restart')
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("unknown action 'restart'")
    expect(bad.stderr).toContain('Usage: netspec engine start|stop|status')
    expect(netspec('help').stdout).toMatch(/engine\s+start, stop or check a Docker engine/)
  })
})
