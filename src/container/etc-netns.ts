// /etc/netns/NAME files for a lab whose commands run elsewhere (the container executor): written and
// removed through the executor, so `ip netns exec` inside the container sees them. As on the machine
// (src/lab/etc-netns.ts): the directory is created exclusively (an existing one, or a symlink, is never written
// through) and only the files written are removed, then the directory if empty.
import { runChecked, type Executor } from '../exec/index.js'

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Writes the files (names were validated as plain file names) and returns the undo. */
export async function writeEtcNetnsVia(exec: Executor, netns: string, files: readonly (readonly [string, string])[]): Promise<() => Promise<void>> {
  const dir = `/etc/netns/${netns}`
  await runChecked(exec, ['sh', '-c', `mkdir -p /etc/netns && mkdir ${sq(dir)}`], {}, { what: `creating ${dir} failed (it must not exist yet)` })
  for (const [file, content] of files) {
    // noclobber: the shell opens with O_EXCL, so nothing already there (a planted symlink) is written through
    await runChecked(exec, ['sh', '-c', `set -C; cat > ${sq(`${dir}/${file}`)}`], { input: content }, { what: `writing ${dir}/${file} failed` })
  }
  return async () => {
    await exec.run(['sh', '-c', `${files.map(([f]) => `rm -f ${sq(`${dir}/${f}`)}`).join('; ')}; rmdir ${sq(dir)}`])
  }
}
