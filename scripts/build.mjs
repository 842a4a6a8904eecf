#!/usr/bin/env node
// `npm run build`: the package as a bundle. Node's ESM loader pays ~0.9 ms per module (URL handling, compiling,
// package scope lookups), so ~100 per-file modules cost 60–80 ms of `import('netspec')`; a few bundled files
// cost ~15–20 ms. esbuild bundles every package entry point ("exports" and "bin", plus dist/internal.js for
// netspec's own tests) with code splitting, so the entries share chunks: one instance of every module's state
// (the reaper, the drop hub, the classes `instanceof` checks) across `netspec`, `netspec/vitest` and the CLI.
// tsc emits the declarations only. The JS of a previous build is never kept beside the new one (a stale
// per-file copy would be a second instance of module state): the output is built in a sibling directory and
// swapped in whole.
//
// Built-ins that a lab on the in-process kernel path never needs (child_process, crypto, zlib, readline) are
// loaded on first use (src/builtins/), not at import.
//
// Two rules keep `import('netspec')` at a few files (checked at the end of the build):
// - every other entry also imports src/index.ts, so every module `netspec` reaches is reached by all entries
//   and lands in one shared chunk (esbuild groups modules by the set of entries that reach them);
// - a relative `await import('./x.js')` in the sources becomes a static import in the bundle: a dynamic
//   import would be one more entry, splitting that chunk again, and inside one bundle it saves nothing.
//
// Usage: node scripts/build.mjs [--outdir DIR] [--js-only] (default dist/; --js-only skips the declarations,
// for tests that only run the build). Exit code: tsc's (it still emits on type errors, as `tsc -p` did).
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
const argOut = process.argv.indexOf('--outdir')
const outdir = resolve(argOut > 0 ? process.argv[argOut + 1] : join(root, 'dist'))
const work = `${outdir}.build-${process.pid}`
const jsOnly = process.argv.includes('--js-only')

// Every entry point of the package, as src/ paths: package.json "exports" and "bin", and the internal one.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const shipped = [...Object.values(pkg.exports).map((e) => e.default ?? e), ...Object.values(pkg.bin)].filter((p) => p.endsWith('.js'))
const entries = [...new Set([...shipped, './dist/internal.js'])].map((p) => join(src, p.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')))
const index = join(src, 'index.ts')

// Node built-ins that cost time to load and that a lab on the in-process path never uses: netspec's own imports
// of them go to src/builtins/*.ts, which load the real module on first use.
const LAZY_BUILTINS = { 'node:child_process': 'child-process.ts', 'node:crypto': 'crypto.ts', 'node:zlib': 'zlib.ts', 'node:readline': 'readline.ts' }

/** Relative dynamic imports become static namespace imports; other entries import src/index.ts too. */
const oneCore = {
  name: 'netspec-one-core',
  setup(b) {
    b.onResolve({ filter: /^node:(child_process|crypto|zlib|readline)$/ }, (args) => {
      if (!args.importer.startsWith(src) || args.importer.startsWith(join(src, 'builtins'))) return undefined
      return { path: join(src, 'builtins', LAZY_BUILTINS[args.path]) }
    })
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(src)) return undefined
      let code = readFileSync(args.path, 'utf8')
      const lazy = []
      code = code.replace(/\bawait import\((['"])(\.{1,2}\/[^'"]+)\1\)/g, (_, _q, spec) => {
        lazy.push(spec)
        return `await Promise.resolve(__netspec_static_${lazy.length - 1})`
      })
      const left = /\bimport\(\s*['"`]\.{1,2}\//.exec(code)
      if (left !== null) {
        const line = code.slice(0, left.index).split('\n').length
        return { errors: [{ text: 'a relative dynamic import the build cannot make static (write it as `await import(\'./x.js\')`)', location: { file: args.path, line } }] }
      }
      const head = lazy.map((spec, i) => `import * as __netspec_static_${i} from ${JSON.stringify(spec)};\n`).join('')
      const tail = entries.includes(args.path) && args.path !== index ? `\nimport ${JSON.stringify(`./${relative(dirname(args.path), index).replace(/\.ts$/, '.js')}`)}\n` : ''
      // Prepended imports go on the first line: source maps keep every original line number.
      const at = code.startsWith('#!') ? code.indexOf('\n') + 1 : 0
      return { contents: code.slice(0, at) + head.replace(/\n/g, ' ') + code.slice(at) + tail, loader: 'ts' }
    })
  },
}

function tsc() {
  if (jsOnly) return Promise.resolve(0)
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--outDir', work], { stdio: 'inherit' })
    p.on('exit', (code) => res(code ?? 1))
  })
}

rmSync(work, { recursive: true, force: true })
const [tscCode, result] = await Promise.all([
  tsc(),
  build({
    entryPoints: entries,
    outdir: work,
    outbase: src,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked', // sources: ../src/… (shipped), so stack traces point at files the package has
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [oneCore],
  }),
])

// The point of the bundle: `import('netspec')` loads few files. Fail the build if a change splits it again.
const outputs = result.metafile.outputs
const indexOut = relative(process.cwd(), join(work, 'index.js'))
const loaded = new Set()
for (const stack = [indexOut]; stack.length > 0; ) {
  const f = stack.pop()
  if (loaded.has(f)) continue
  loaded.add(f)
  for (const i of outputs[f]?.imports ?? []) if (!i.external) stack.push(i.path)
}
if (!outputs[indexOut] || loaded.size > 3) {
  console.error(`build: import('netspec') would load ${loaded.size} files (${[...loaded].join(', ')}); at most 3 are expected`)
  process.exit(1)
}

const old = `${outdir}.old-${process.pid}`
if (existsSync(outdir)) renameSync(outdir, old)
renameSync(work, outdir)
rmSync(old, { recursive: true, force: true })
process.exit(tscCode)
