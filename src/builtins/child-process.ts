// node:child_process, loaded on first use. The build (scripts/build.mjs) points netspec's own imports of
// 'node:child_process' here, so `import('netspec')` does not load it (with net, dgram and streams, ~1–3 ms):
// a lab on the in-process kernel path starts no process, and most runs never need it. Same functions, same
// behaviour (including util.promisify(execFile) resolving { stdout, stderr }).
import type * as ChildProcess from 'node:child_process'

const load = () => process.getBuiltinModule('node:child_process') as typeof ChildProcess
const custom = Symbol.for('nodejs.util.promisify.custom')

export const spawn = ((...a: Parameters<typeof ChildProcess.spawn>) => load().spawn(...a)) as typeof ChildProcess.spawn
export const execFileSync = ((...a: Parameters<typeof ChildProcess.execFileSync>) => load().execFileSync(...a)) as typeof ChildProcess.execFileSync
export const execFile = ((...a: Parameters<typeof ChildProcess.execFile>) => load().execFile(...a)) as typeof ChildProcess.execFile
Object.defineProperty(execFile, custom, {
  value: (...a: unknown[]) => (load().execFile as unknown as Record<symbol, (...a: unknown[]) => unknown>)[custom]!(...a),
})
