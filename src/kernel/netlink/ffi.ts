// The few libc calls the in-process kernel path needs, through koffi (an FFI package that ships prebuilt
// binaries inside itself: no compile step at install). Optional: without koffi, off Linux/glibc, or with
// NETSPEC_NO_FFI=1, `libc()` is undefined and every caller takes its process-based path instead.
import { createRequire } from 'node:module'

export interface Libc {
  socket(domain: number, type: number, protocol: number): number
  close(fd: number): number
  send(fd: number, buf: Buffer, len: number, flags: number): number
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: number): number
  recv(fd: number, buf: Buffer, len: number, flags: number): number
  /** `addr` receives the sender's sockaddr; `addrlen` (4 bytes, in: its size, out: its length). */
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrlen: Buffer): number
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number
  connect(fd: number, addr: Buffer, len: number): number
  setns(fd: number, nstype: number): number
  unshare(flags: number): number
  mount(source: string, target: string, type: string, flags: number, data: null): number
  umount2(target: string, flags: number): number
  /** rename(2) with flags (RENAME_NOREPLACE: fail with EEXIST rather than replace); paths relative to AT_FDCWD. */
  renameat2(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): number
  strerror(errno: number): string
  /** errno of the last call on this thread. */
  errno(): number
}

export const CLONE_NEWNET = 0x40000000
// socket(2) arguments used by the netlink and ICMP sockets (Linux values).
export const AF_INET = 2
export const AF_INET6 = 10
export const AF_NETLINK = 16
export const SOCK_RAW = 3
export const SOCK_CLOEXEC = 0x80000
export const ENOENT = 2
export const EAGAIN = 11
export const ENODEV = 19
export const MSG_DONTWAIT = 0x40
export const AT_FDCWD = -100
export const RENAME_NOREPLACE = 1

function load(): Libc | undefined {
  if (process.platform !== 'linux' || process.env.NETSPEC_NO_FFI === '1') return undefined
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(lib: string): { func(signature: string): (...args: unknown[]) => unknown }
      errno(): number
    }
    const c = koffi.load('libc.so.6')
    const f = <T>(sig: string) => c.func(sig) as unknown as T
    return {
      socket: f('int socket(int, int, int)'),
      close: f('int close(int)'),
      send: f('long send(int, const void *, size_t, int)'),
      sendto: f('long sendto(int, const void *, size_t, int, const void *, uint32_t)'),
      recv: f('long recv(int, _Out_ void *, size_t, int)'),
      recvfrom: f('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ void *)'),
      setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
      connect: f('int connect(int, const void *, uint32_t)'),
      setns: f('int setns(int, int)'),
      unshare: f('int unshare(int)'),
      mount: f('int mount(const char *, const char *, const char *, unsigned long, const void *)'),
      umount2: f('int umount2(const char *, int)'),
      renameat2: f('int renameat2(int, const char *, int, const char *, unsigned int)'),
      strerror: f('const char *strerror(int)'),
      errno: () => koffi.errno(),
    }
  } catch {
    return undefined
  }
}

let cached: Libc | undefined | null = null

/** libc through koffi, or undefined where the in-process path is not available. */
export function libc(): Libc | undefined {
  if (cached === null) cached = load()
  return cached
}
