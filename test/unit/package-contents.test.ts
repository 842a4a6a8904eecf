// What the package ships (npm pack --dry-run): every relative link of README.md and of the shipped docs
// resolves to a shipped file, source maps point at shipped sources, and what hints tell users to run exists.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
let files: Set<string>

describe('the packed package', { timeout: 60_000 }, () => {
  beforeAll(() => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path))
  }, 60_000) // npm itself takes >10 s on this shared machine under load (seen at load average ~30)

  test('ships LICENSE, README, the CLI, the engine script and both entry points', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/cli/main.js', 'scripts/dockerd.sh', 'scripts/host-deps.sh', 'dist/index.js', 'dist/vitest/index.js'])
      expect(files.has(f), f).toBe(true)
  })

  test('ships the bundle only: the entry points and their shared chunks, no per-file JS (a second module instance)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }>; bin: Record<string, string> }
    const entries = new Set([...Object.values(pkg.exports).map((e) => (typeof e === 'string' ? e : e.default)), ...Object.values(pkg.bin)].map((p) => p.replace(/^\.\//, '')))
    entries.add('dist/internal.js') // netspec's own tests' entry (src/internal.ts), built into the same bundle
    const js = [...files].filter((f) => f.endsWith('.js'))
    expect(js.filter((f) => f.startsWith('dist/chunks/')).length).toBeGreaterThan(0)
    expect(js.filter((f) => !entries.has(f) && !f.startsWith('dist/chunks/'))).toEqual([])
    for (const e of entries) if (e.endsWith('.js')) expect(files.has(e), e).toBe(true)
  })

  test('every relative link in README.md and the shipped docs points at a shipped file', () => {
    const broken: string[] = []
    const docs = [...files].filter((f) => f === 'README.md' || (f.startsWith('docs/') && f.endsWith('.md')))
    expect(docs.length).toBeGreaterThan(3)
    for (const doc of docs) {
      const text = readFileSync(join(root, doc), 'utf8').replace(/```[\s\S]*?```/g, '')
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!
        if (target === '' || /^[a-z]+:/.test(target)) continue
        const path = normalize(join(dirname(doc), target)).replace(/\/$/, '')
        if (!files.has(path) && ![...files].some((f) => f.startsWith(`${path}/`))) broken.push(`${doc}: ${m[1]}`)
      }
    }
    expect(broken).toEqual([])
  })

  test("every source map's sources are shipped (stack traces never point at missing files)", () => {
    const maps = [...files].filter((f) => f.endsWith('.js.map'))
    expect(maps.length).toBe([...files].filter((f) => f.endsWith('.js')).length) // every shipped JS file has its map
    const missing: string[] = []
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(root, m), 'utf8')) as { sources: string[] }
      for (const s of map.sources) {
        const path = normalize(join(dirname(m), s))
        if (!files.has(path)) missing.push(`${m} → ${path}`)
      }
    }
    expect(missing).toEqual([])
  })
})
