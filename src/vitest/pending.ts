// A forgotten `await`: `expect(ns).toReach(…)` without await must never pass a check that did not run.
//
// Every async netspec matcher call is registered with its test (the assertion's `vitest-test`, which Vitest sets for
// the global and the test-bound `expect` alike) and hands back a thenable that notes whether anyone subscribed to it
// (await, .then, Promise.all, .resolves: all of them call `then`). When the test body ends, every call nobody
// subscribed to fails that test, naming the matcher and asking "did you forget await?" — whether it was still
// running or had already finished, so the outcome never depends on timing. The check itself is waited for before
// the test moves on to its teardown (it does not race it), and its own outcome is only quoted: it is always
// observed here, so a late rejection is never unhandled and never blamed on another test.
//
// "The body ended" is the moment Vitest awaits a test's `promises` (Test.promises, where its own `.resolves` and
// `.rejects` register): one thenable per test sits in that list and is asked to settle right then. A body that
// throws skips that step; a hook on the test's end (onFinished) then reports what is left.

interface TrackedTest {
  type?: string
  result?: { state?: string }
  promises?: PromiseLike<unknown>[]
  onFinished?: (() => unknown)[]
}

interface Call {
  text: string
  /** Where the matcher was called: the stack of the failure points at the missing await. */
  site: Error
  subscribed: boolean
  settled: boolean
  /** The call's outcome, observed at once (never rejects). */
  outcome: Promise<{ ok: true } | { ok: false; error: unknown }>
}

interface PerTest {
  calls: Call[]
  reported: boolean
  /** Our hook in the test's onFinished list: Vitest empties that list after each attempt (retry, repeats). */
  hook: () => Promise<void>
}

const tests = new WeakMap<object, PerTest>()

/** The error a test fails with when one of its netspec matchers was not awaited. */
export class ForgottenAwaitError extends Error {
  override name = 'ForgottenAwaitError'
}

async function forgotten(calls: readonly Call[], runningAtEnd: ReadonlySet<Call>): Promise<ForgottenAwaitError> {
  const lines: string[] = []
  for (const c of calls) {
    const o = await c.outcome
    const how = runningAtEnd.has(c) ? 'was still running when the test ended' : 'was not awaited'
    const verdict = o.ok ? 'its check passed, unseen by the test' : `its check failed, unseen by the test: ${firstLine(o.error)}`
    lines.push(`${c.text} ${how}: did you forget await? (${verdict})`)
  }
  const e = new ForgottenAwaitError(
    `${lines.join('\n')}\nA netspec matcher returns a promise: write \`await ${calls[0]!.text}\`. ` +
      'A check whose verdict never reached its test fails that test.',
  )
  const site = calls[0]!.site.stack?.split('\n').slice(1).join('\n')
  if (site !== undefined) e.stack = `${e.name}: ${e.message}\n${site}`
  return e
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e)
  return text.split('\n')[0] ?? text
}

function perTest(test: TrackedTest): PerTest {
  const known = tests.get(test)
  if (known !== undefined && test.onFinished?.includes(known.hook) === true) return known // same attempt
  const state: PerTest = { calls: [], reported: false, hook: async () => {} }
  tests.set(test, state)
  const report = async (): Promise<ForgottenAwaitError | undefined> => {
    const unseen = state.calls.filter((c) => !c.subscribed)
    state.calls = []
    if (unseen.length === 0 || state.reported) return undefined
    state.reported = true
    return forgotten(unseen, new Set(unseen.filter((c) => !c.settled)))
  }
  // 1. At the end of the body.
  const atBodyEnd: PromiseLike<void> = {
    then(onFulfilled, onRejected) {
      return report()
        .then((e) => (e === undefined ? undefined : Promise.reject(e)))
        .then(onFulfilled, onRejected)
    },
  }
  ;(test.promises ??= []).push(atBodyEnd)
  // 2. When the test has finished, for a body that threw or a matcher started after the body (a hook, a timer).
  state.hook = async () => {
    const e = await report()
    if (e !== undefined) throw e
  }
  ;(test.onFinished ??= []).push(state.hook)
  return state
}

/**
 * Wraps the result of one matcher call made on behalf of `test` (the assertion's `vitest-test` flag). Without a
 * running test (a suite hook, no Vitest) the promise is returned as it is.
 */
export function trackCall<T>(test: unknown, text: string, result: Promise<T>): PromiseLike<T> {
  const t = test as TrackedTest | undefined
  if (t === undefined || t === null || t.type !== 'test' || t.result?.state !== 'run') return result
  const state = perTest(t)
  const call: Call = {
    text,
    site: new Error(text),
    subscribed: false,
    settled: false,
    outcome: result.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  }
  void call.outcome.then(() => (call.settled = true))
  state.calls.push(call)
  // A promise-shaped object that subscribes to the result only when someone else does (as Vitest's own .resolves).
  return {
    then(onFulfilled, onRejected) {
      call.subscribed = true
      return result.then(onFulfilled, onRejected)
    },
    catch(onRejected: (e: unknown) => unknown) {
      call.subscribed = true
      return result.catch(onRejected)
    },
    finally(onFinally: () => void) {
      call.subscribed = true
      return result.finally(onFinally)
    },
    [Symbol.toStringTag]: 'Promise',
  } as PromiseLike<T>
}
