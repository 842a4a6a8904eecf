// The last lines a process printed, stdout and stderr interleaved in arrival order: what a failure shows
// ("No DHCPOFFERS received", "Received: Bad peer AS" come last, after the banner). Bounded in lines and
// in characters per line, so a chatty daemon costs a fixed amount of memory.

export interface RingOptions {
  /** Lines kept (the newest). Default 200. */
  lines?: number
  /** Characters kept of one line (longer lines are cut with '…'). Default 1000. */
  lineLength?: number
}

export class LineRing {
  readonly #max: number
  readonly #lineLength: number
  readonly #lines: string[] = []
  /** A line not ended yet, per stream (chunks split lines anywhere). */
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' }
  #dropped = 0

  constructor({ lines = 200, lineLength = 1000 }: RingOptions = {}) {
    if (!Number.isInteger(lines) || lines < 1) throw new RangeError(`a line ring keeps at least one line, got ${lines}`)
    this.#max = lines
    this.#lineLength = lineLength
  }

  append(stream: 'stdout' | 'stderr', chunk: string): void {
    const parts = (this.#partial[stream] + chunk).split('\n')
    this.#partial[stream] = this.#cut(parts.pop() ?? '')
    for (const p of parts) this.#push(p)
  }

  /** The newest `n` lines (all kept ones by default), including a last line not ended by a newline yet. */
  lines(n = this.#max): string[] {
    const open = (['stdout', 'stderr'] as const).map((s) => this.#partial[s]).filter((p) => p !== '')
    const all = [...this.#lines, ...open]
    return n >= all.length ? all : all.slice(all.length - n)
  }

  /** How many lines were pushed out of the ring. */
  get dropped(): number {
    return this.#dropped
  }

  #push(line: string): void {
    this.#lines.push(this.#cut(line.replace(/\r$/, '')))
    if (this.#lines.length > this.#max) {
      this.#lines.shift()
      this.#dropped += 1
    }
  }

  #cut(line: string): string {
    return line.length > this.#lineLength ? `${line.slice(0, this.#lineLength - 1)}…` : line
  }
}
