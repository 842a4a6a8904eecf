// The `ip -batch` line format, as iproute2 reads it (lib/utils.c: getcmdline, makeargs): a '#' anywhere
// cuts the line (even inside quotes), a '\' before the newline joins the next line, words are split on
// ' \t\r\n', and a word that starts with '"' or '\'' runs to the next same quote (no escapes; unterminated:
// ip exits, failing every other line of the batch). netspec prints every word through batchWord() and
// checks every line with checkBatchLine() before it is queued, so a value can never become a second word,
// a comment or a second command (test/unit/values.test.ts proves the round trip by properties).
import { invalidInput, type NetspecErrorContext } from '../errors.js'
import { show } from './show.js'

const WS = ' \t\r\n'

/** The words ip makes of one batch line, or undefined where ip would fail to read it (an unterminated quote). */
export function splitBatchLine(line: string): string[] | undefined {
  const hash = line.indexOf('#')
  const text = hash < 0 ? line : line.slice(0, hash)
  const words: string[] = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && WS.includes(text[i]!)) i++
    if (i >= text.length) break
    const c = text[i]!
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1)
      if (end < 0) return undefined
      words.push(text.slice(i + 1, end))
      i = end + 1
    } else {
      let j = i
      while (j < text.length && !WS.includes(text[j]!)) j++
      words.push(text.slice(i, j))
      i = j
    }
  }
  return words
}

const PLAIN = /^[A-Za-z0-9_.:/@+=,%-]+$/

/**
 * One word of a batch line: as is when it is plain, else in the quotes it does not contain. Throws for a
 * word no quoting can carry ('#', a NUL, a newline or both quote kinds): the values layer refuses those first.
 */
export function batchWord(word: string): string {
  if (PLAIN.test(word)) return word
  if (/[#\0\n]/.test(word) || (word.includes('"') && word.includes("'")))
    throw invalidInput(`'${show(word)}' cannot be carried in an ip batch line`, { hint: 'this is a netspec bug: the value should have been refused earlier' })
  return word.includes('"') ? `'${word}'` : `"${word}"`
}

/** A line ip reads as exactly one command: no comment, no continuation, no NUL, no unterminated quote. */
export function batchLineProblem(line: string): string | undefined {
  if (line.includes('#')) return "'#' would start a comment"
  if (/[\0\n]/.test(line)) return 'a NUL or newline would end the line'
  if (line.endsWith('\\')) return "a trailing '\\' would join the next line"
  if (splitBatchLine(line) === undefined) return 'an unterminated quote would make ip exit'
  return undefined
}

export function checkBatchLine(line: string, context: NetspecErrorContext = {}): string {
  const problem = batchLineProblem(line)
  if (problem !== undefined)
    throw invalidInput(`refusing the ip batch line '${show(line)}': ${problem}`, {
      ...context,
      hint: 'a value in it was not validated (a netspec bug, or a name from exec): use letters, digits, - and _',
    })
  return line
}
