// Renders argv as a line a person can paste into a root shell.
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

export function displayCommand(argv: readonly string[], netns?: string): string {
  return netns === undefined ? shellQuote(argv) : `ip netns exec ${netns} ${shellQuote(argv)}`
}
