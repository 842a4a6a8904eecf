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

type KoffiLib = { func(signature: string): (...args: unknown[]) => unknown }
let lib: KoffiLib | undefined

function load(): Libc | undefined {
  if (process.platform !== 'linux' || process.env.NETSPEC_NO_FFI === '1') return undefined
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(lib: string): KoffiLib
      errno(): number
    }
    const c = (lib = koffi.load('libc.so.6'))
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

/** posix_spawn(3) and what it needs: a process started by vfork semantics (no copy of this process's pages). */
export interface LibcSpawn {
  /** `fds`: 8 bytes, receives the read and the write end (int32 each). */
  pipe2(fds: Buffer, flags: number): number
  /** `pid`: 4 bytes, receives the child's pid. */
  posix_spawn(pid: Buffer, path: string, actions: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]): number
  fileActionsInit(actions: Buffer): number
  fileActionsDestroy(actions: Buffer): number
  addDup2(actions: Buffer, fd: number, newfd: number): number
  addOpen(actions: Buffer, fd: number, path: string, flags: number, mode: number): number
  addChdir(actions: Buffer, path: string): number
  attrInit(attr: Buffer): number
  attrDestroy(attr: Buffer): number
  setFlags(attr: Buffer, flags: number): number
  setSigDefault(attr: Buffer, set: Buffer): number
  setSigMask(attr: Buffer, set: Buffer): number
  sigfillset(set: Buffer): number
  sigemptyset(set: Buffer): number
  close(fd: number): number
}

export const O_CLOEXEC = 0o2000000
export const O_WRONLY = 1
export const POSIX_SPAWN_SETSIGDEF = 0x04
export const POSIX_SPAWN_SETSIGMASK = 0x08
export const POSIX_SPAWN_SETSID = 0x80

let spawnFns: LibcSpawn | undefined | null = null

/** posix_spawn through koffi (glibc ≥ 2.29 for addchdir_np), or undefined where libc() is not available. */
export function libcSpawn(): LibcSpawn | undefined {
  if (spawnFns !== null) return spawnFns
  spawnFns = undefined
  if (libc() === undefined || lib === undefined) return undefined
  try {
    const c = lib
    const f = <T>(sig: string) => c.func(sig) as unknown as T
    spawnFns = {
      pipe2: f('int pipe2(_Out_ void *fds, int flags)'),
      posix_spawn: f('int posix_spawn(_Out_ void *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
      fileActionsInit: f('int posix_spawn_file_actions_init(void *actions)'),
      fileActionsDestroy: f('int posix_spawn_file_actions_destroy(void *actions)'),
      addDup2: f('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
      addOpen: f('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, uint32_t mode)'),
      addChdir: f('int posix_spawn_file_actions_addchdir_np(void *actions, const char *path)'),
      attrInit: f('int posix_spawnattr_init(void *attr)'),
      attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
      setFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
      setSigDefault: f('int posix_spawnattr_setsigdefault(void *attr, const void *set)'),
      setSigMask: f('int posix_spawnattr_setsigmask(void *attr, const void *set)'),
      sigfillset: f('int sigfillset(void *set)'),
      sigemptyset: f('int sigemptyset(void *set)'),
      close: f('int close(int)'),
    }
  } catch {
    spawnFns = undefined // an older libc without one of them: child_process remains
  }
  return spawnFns
}

