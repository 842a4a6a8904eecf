// Found by the third adversarial review (REVIEW3-4), fixed; this test keeps it fixed. What was wrong (misleading error, minor): a refused namespace label names neither the lab nor the spec line, though
// every other refusal of lab.namespace() does (declared: <file:line>). Cause: src/lab/lab.ts:271 calls
// checkLabel(label) without the ctx built on the next line (declaredAt is already known at :269). Seen the same from
// the installed package (npm pack → fresh project): 'bad\nname' prints only the message and the hint.
import { expect, test } from 'vitest'
import { Lab, isNetspecError } from '../../src/index.js'

test("a refused label says which lab and which line", async () => {
  await using lab = await Lab.create({ label: 'review3-4' })
  const e = await lab.namespace('bad\nname').then(() => undefined, (err: unknown) => err)
  expect(isNetspecError(e)).toBe(true)
  const err = e as { lab?: string; declaredAt?: string; calledAt?: string }
  expect(err.lab).toBe('review3-4')
  expect(err.declaredAt ?? err.calledAt ?? '').toContain('label-error-context.test.ts:10')
})
