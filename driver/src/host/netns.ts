/**
 * Moving the calling thread into a network namespace. Only worker threads call this: setns moves
 * the calling thread alone, so the driver's own thread stays in the host's namespace, and a socket
 * opened afterwards belongs to the namespace entered.
 */
import * as fs from 'node:fs';
import * as koffi from 'koffi';

const CLONE_NEWNET = 0x40000000;

/** Entering failed; `errno` is the positive errno when a system call said why. */
export class NamespaceError extends Error {
  constructor(
    message: string,
    readonly errno?: number,
  ) {
    super(message);
    this.name = 'NamespaceError';
  }
}

interface Libc {
  setns(fd: number, nstype: number): number;
  strerror(errno: number): string;
}
let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = { setns: lib.func('int setns(int, int)'), strerror: lib.func('const char *strerror(int)') };
  return libc;
}

/**
 * Enters the network namespace at `path` (/run/netns/NAME, /proc/PID/ns/net, a SandboxKey). With
 * `expectedInode`, refuses unless the path holds that namespace (the one the caller looked up).
 * What is checked is the namespace actually entered (the opened descriptor), never the path again:
 * a path can be re-pointed between two looks at it.
 */
export function enterNetworkNamespace(path: string, expectedInode?: number): void {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NamespaceError(err.message, Math.abs(err.errno ?? 0) || undefined);
  }
  let entered: number;
  try {
    entered = fs.fstatSync(fd).ino;
    if (expectedInode !== undefined && entered !== expectedInode) {
      throw new NamespaceError(`${path} now holds network namespace net:[${entered}], not net:[${expectedInode}] that was looked up (the container restarted or its process exited); run the command again`);
    }
    const c = loadLibc();
    if (c.setns(fd, CLONE_NEWNET) !== 0) {
      const errno = koffi.errno() as number;
      throw new NamespaceError(`setns(${path}): ${c.strerror(errno)}${errno === 22 ? ' (not a network namespace)' : errno === 1 ? ' (entering a namespace needs CAP_SYS_ADMIN)' : ''}`, errno);
    }
  } finally {
    fs.closeSync(fd);
  }
  // Guard against a thread mix-up: this thread must now be in the namespace that was opened.
  if (fs.statSync('/proc/thread-self/ns/net').ino !== entered) {
    throw new NamespaceError(`setns into ${path} did not take effect for this thread`);
  }
}
