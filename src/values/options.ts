// Option objects: an unknown key (a typo) is refused, never silently ignored. Pure: no I/O.
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { show } from './show.js'

export function checkKeys<T extends object>(
  options: T | undefined,
  allowed: readonly string[],
  what: string,
  context: NetspecErrorContext = {},
): T {
  if (options === undefined) return {} as T
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalidInput(`${what} options must be an object`, context)
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const near = allowed.find((a) => editDistance(a, key) <= 2)
      throw invalidInput(`unknown option '${show(key)}' for ${what}`, {
        ...context,
        hint: near !== undefined ? `did you mean '${near}'?` : `known options: ${allowed.join(', ')}`,
      })
    }
  }
  return options
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length]![b.length]!
}
