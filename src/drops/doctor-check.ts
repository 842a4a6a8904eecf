// `netspec doctor`'s line about drop reasons: on (bpftrace attached, how fast), or why not and how to get them.
import { dropWatcher, dropsSupport } from './watcher.js'

export interface DropsCheck {
  status: 'ok' | 'warn'
  detail: string
  fix?: string
}

/** Tries the real thing: the static checks, then bpftrace started and attached to skb:kfree_skb (then stopped). */
export async function dropsCheck(path?: string): Promise<DropsCheck> {
  const env = path === undefined ? process.env : { ...process.env, PATH: path }
  const s = dropsSupport(env)
  if (!s.on) return { status: 'warn', detail: `drop reasons off: ${s.why}; negative checks wait for their deadline`, ...(s.fix === undefined ? {} : { fix: s.fix }) }
  const w = dropWatcher(env)
  if (w === undefined || !(await w.ready)) {
    const why = w?.failure ?? 'bpftrace did not start'
    const denied = /not permitted|permission denied|EPERM|EACCES/i.test(why)
    return {
      status: 'warn',
      detail: `drop reasons off: bpftrace could not attach to skb:kfree_skb (${why})`,
      fix: denied
        ? 'run as root on the host; a container needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (or --privileged) for bpftrace'
        : 'check `bpftrace -l tracepoint:skb:kfree_skb` (Linux 5.17+ gives drop reasons)',
    }
  }
  const detail = `drop reasons on: bpftrace attached to skb:kfree_skb in ${Math.round(w.startupMs ?? 0)} ms, ${w.reasons.size} reasons named by this kernel (tracefs in a private mount namespace when not mounted)`
  w.stop()
  return { status: 'ok', detail }
}
