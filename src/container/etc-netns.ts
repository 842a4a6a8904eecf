// /etc/netns/NAME files for a lab whose commands run elsewhere (the container executor): written and
// removed through the executor, so `ip netns exec` inside the container sees them.
import { runChecked, type Executor } from '../exec/index.js'

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Writes the files (names were validated as plain file names) and returns the undo. */
export async function writeEtcNetnsVia(exec: Executor, netns: string, files: readonly (readonly [string, string])[]): Promise<() => Promise<void>> {
  const dir = `/etc/netns/${netns}`
  await runChecked(exec, ['mkdir', '-p', dir], {}, { what: `creating ${dir} failed` })
  for (const [file, content] of files) {
    await runChecked(exec, ['sh', '-c', `cat > ${sq(`${dir}/${file}`)}`], { input: content }, { what: `writing ${dir}/${file} failed` })
  }
  return async () => {
    await exec.run(['rm', '-rf', dir])
  }
}
