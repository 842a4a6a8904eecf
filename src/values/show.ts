import { invalidInput } from '../errors.js'

// How a value a user gave is shown inside an error message: control characters escaped, long ones cut,
// so a hostile string can neither break the message nor flood it.
export function show(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : String(value)
  const escaped = JSON.stringify(text)
    .slice(1, -1)
    .replace(/\\"/g, '"')
    .replace(/[\u2028\u2029\u0080-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped
}

/** Control characters (C0, DEL, C1), the Unicode line/paragraph separators, and lone surrogates (which UTF-8 cannot carry). */
export const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/u

const UNSAFE_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cs}/gu

/**
 * Text from elsewhere (a marker's label, a kernel's interface name) made safe for a terminal: every control
 * character, line separator and lone surrogate becomes '?', so nothing printed can move the cursor, clear the
 * screen, set a title or reach the clipboard (OSC 52).
 */
export function printable(text: string): string {
  return text.replace(UNSAFE_GLOBAL, '?')
}

/**
 * A lab's label (its test's name, by default): any text up to 4,096 characters (what a marker may hold) without
 * control characters, line separators or lone surrogates, which would reach terminals and reports raw.
 */
export function checkLabLabel(label: unknown): string {
  if (typeof label !== 'string') throw invalidInput(`Lab.create: label must be a string, got ${show(String(label))}`)
  if (label.length > 4096) throw invalidInput(`Lab.create: label is ${label.length} characters; at most 4096`)
  if (UNSAFE_CHAR.test(label))
    throw invalidInput(`Lab.create: label '${show(label)}' has a control character, a line break or a lone surrogate`, {
      hint: 'labels are printed to terminals and reports: use printable text',
    })
  return label
}
