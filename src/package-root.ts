// Where netspec's own package lives, found from this module's location in either shape it runs in: bundled
// (dist/index.js, dist/chunks/*.js) or as sources (src/*.ts, under Vitest). Files the package ships beside
// its code (package.json, scripts/dockerd.sh) and "is this stack frame netspec's own" are resolved from here,
// never by a fixed number of `../` from one module (a module's depth differs between the two shapes).
import { sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

let root: string | undefined

/** The package's root directory (no trailing separator): the folder that holds its src/ and dist/. */
export function packageRoot(): string {
  if (root !== undefined) return root
  const here = fileURLToPath(import.meta.url)
  const cut = Math.max(here.lastIndexOf(`${sep}dist${sep}`), here.lastIndexOf(`${sep}src${sep}`))
  root = cut > 0 ? here.slice(0, cut) : here.slice(0, here.lastIndexOf(sep))
  return root
}

let prefixes: string[] | undefined

/** Whether a stack-trace line points into netspec's own src/ or dist/ (as a path or as a file: URL). */
export function isOwnFrame(line: string): boolean {
  if (prefixes === undefined) {
    const r = packageRoot()
    const url = pathToFileURL(r).href
    prefixes = [`${r}${sep}src${sep}`, `${r}${sep}dist${sep}`, `${url}/src/`, `${url}/dist/`]
  }
  return prefixes.some((p) => line.includes(p))
}
