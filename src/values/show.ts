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
