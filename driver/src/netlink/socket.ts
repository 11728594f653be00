/**
 * One netlink socket over libc through koffi: request/ack with sequence numbers, multipart dumps,
 * extended acks. Every call blocks the calling thread, so this is only used inside the netlink
 * worker (worker.ts), never on the driver's event loop.
 */
import * as koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLM_F_REQUEST,
  parseErrorPayload,
  parseMessages,
  type NetlinkMessage,
} from './message';

export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const NETLINK_SOCK_DIAG = 4;
export const NETLINK_NETFILTER = 12;

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EAGAIN = 11;
const ETIMEDOUT = 110;
const ENOBUFS = 105;
const EPROTO = 71;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;

/** Bindings are made once per thread (koffi functions are per isolate). */
interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, addrLen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: null, addrLen: null): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  close(fd: number): number;
  strerror(errno: number): string;
}

let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvfrom: lib.func('intptr_t recvfrom(int, void *, size_t, int, void *, void *)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    close: lib.func('int close(int)'),
    strerror: lib.func('const char *strerror(int)'),
  } as Libc;
  return libc;
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, no]) => [no, name]));

/** "File exists (EEXIST)": glibc's text and the symbolic name. */
export function describeErrno(errno: number): string {
  const name = errnoNames.get(errno) ?? `errno ${errno}`;
  return `${loadLibc().strerror(errno)} (${name})`;
}

/** A refusal from the kernel or a failed system call, before the operation gives it a name. */
export class KernelError extends Error {
  constructor(
    readonly errno: number,
    readonly extAck?: string,
    /** What was being looked at when a sub-step failed, e.g. "master br0". */
    readonly context?: string,
  ) {
    super(`${context ? `${context}: ` : ''}${describeErrno(errno)}${extAck ? `: ${extAck}` : ''}`);
    this.name = 'KernelError';
  }
}

export function sysError(): KernelError {
  return new KernelError(koffi.errno());
}

const RECV_BUFFER = 256 * 1024;
const SOCKET_BUFFER = 1024 * 1024;
const REPLY_TIMEOUT_S = 30;

export class NetlinkSocket {
  private readonly c = loadLibc();
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly rx = Buffer.alloc(RECV_BUFFER);
  private closed = false;

  /**
   * A new socket in the calling thread's network namespace, or (`adoptFd`) one opened by another
   * thread of this process, possibly in another namespace: a socket stays in the namespace it was
   * opened in, and descriptors are shared by every thread.
   */
  constructor(
    readonly protocol: number,
    adoptFd?: number,
  ) {
    if (adoptFd !== undefined) {
      this.fd = adoptFd;
      return;
    }
    const fd = this.c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw sysError();
    this.fd = fd;
    try {
      this.setInt(SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER);
      this.setInt(SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER);
      // Errors cite only the request's header, and carry the kernel's own explanation.
      this.setInt(SOL_NETLINK, NETLINK_CAP_ACK, 1);
      this.setInt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(REPLY_TIMEOUT_S), 0);
      if (this.c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length) !== 0) throw sysError();
      const addr = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (kernel picks), groups 0
      addr.writeUInt16LE(AF_NETLINK, 0);
      if (this.c.bind(fd, addr, addr.length) !== 0) throw sysError();
    } catch (e) {
      this.c.close(fd);
      throw e;
    }
  }

  private setInt(level: number, name: number, value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value, 0);
    if (this.c.setsockopt(this.fd, level, name, b, 4) !== 0) throw sysError();
  }

  /** Sends a request that expects an ack (NLM_F_ACK is added); returns any replies before it. */
  request(type: number, flags: number, payload: Buffer): NetlinkMessage[] {
    return this.exchange(type, flags | NLM_F_ACK, payload, false);
  }

  /**
   * Sends an NLM_F_DUMP request and collects every part until NLMSG_DONE. A dump the kernel
   * marks interrupted (the table changed meanwhile) is retried; while links churn (many
   * containers at once) it may never come out clean, so the last one is used after 20 tries.
   */
  dump(type: number, flags: number, payload: Buffer): NetlinkMessage[] {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.exchange(type, flags, payload, true);
      } catch (e) {
        if (!(e instanceof DumpInterrupted)) throw e;
        if (attempt >= 20) return e.replies;
      }
    }
  }

  /**
   * Sends messages as one nfnetlink batch (NFNL_MSG_BATCH_BEGIN … END for subsystem `resId`): the
   * kernel applies all or none. Each message asks for an ack. nfnetlink processes a batch inside
   * the sendmsg call, so every answer is queued when it returns: they are read without waiting.
   * Throws the first refusal, with the index of the message it names.
   */
  batch(resId: number, messages: Array<{ type: number; flags: number; payload: Buffer }>): void {
    if (this.closed) throw new KernelError(9 /* EBADF */);
    if (messages.length === 0) return;
    const first = (this.seq = (this.seq + 1) >>> 0 || 1);
    const seqOf = (i: number) => (first + i) >>> 0;
    const count = messages.length + 2;
    this.seq = seqOf(count - 1);
    const batchHeader = Buffer.from([0, 0, resId >> 8, resId & 0xff]); // nfgenmsg: AF_UNSPEC, v0, res_id (big-endian)
    const parts = [encodeMessage(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seqOf(0), batchHeader)];
    messages.forEach((m, i) => parts.push(encodeMessage(m.type, m.flags | NLM_F_REQUEST | NLM_F_ACK, seqOf(i + 1), m.payload)));
    parts.push(encodeMessage(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seqOf(count - 1), batchHeader));
    const buf = Buffer.concat(parts);
    for (;;) {
      const n = this.c.sendto(this.fd, buf, buf.length, 0, null, 0);
      if (n >= 0) break;
      const errno = koffi.errno();
      if (errno !== EINTR) throw new KernelError(errno);
    }
    let acked = 0;
    let refusal: BatchRefusal | undefined;
    while (acked < messages.length) {
      const n = this.c.recvfrom(this.fd, this.rx, this.rx.length, MSG_TRUNC | MSG_DONTWAIT, null, null);
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break; // all answers were queued during sendto
        throw new KernelError(errno, errno === ENOBUFS ? 'netlink receive buffer overrun' : undefined);
      }
      if (n > this.rx.length) throw new KernelError(ENOBUFS, `netlink message of ${n} bytes exceeds the ${this.rx.length}-byte buffer`);
      for (const m of parseMessages(Buffer.from(this.rx.subarray(0, n)))) {
        const index = ((m.seq - first) >>> 0) - 1;
        if (m.type !== NLMSG_ERROR || index < -1 || index >= count - 1) continue; // not ours
        acked++;
        const err = parseErrorPayload(m);
        if (err.errno !== 0 && !refusal) refusal = new BatchRefusal(err.errno, Math.max(0, Math.min(index, messages.length - 1)), err.extAck);
      }
    }
    if (refusal) throw refusal;
    if (acked < messages.length) throw new KernelError(EPROTO, `nfnetlink batch: ${acked} of ${messages.length} messages answered`);
  }

  private exchange(type: number, flags: number, payload: Buffer, isDump: boolean): NetlinkMessage[] {
    if (this.closed) throw new KernelError(9 /* EBADF */);
    const seq = (this.seq = (this.seq + 1) >>> 0 || 1);
    const msg = encodeMessage(type, flags, seq, payload);
    for (;;) {
      const n = this.c.sendto(this.fd, msg, msg.length, 0, null, 0);
      if (n >= 0) break;
      const errno = koffi.errno();
      if (errno !== EINTR) throw new KernelError(errno);
    }
    const replies: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.receive()) {
        if (m.seq !== seq) continue; // a late reply to an earlier request
        if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (m.type === NLMSG_NOOP) continue;
        if (m.type === NLMSG_ERROR) {
          const err = parseErrorPayload(m);
          if (err.errno !== 0) throw new KernelError(err.errno, err.extAck);
          return replies; // the ack
        }
        if (m.type === NLMSG_DONE) {
          const err = parseErrorPayload(m);
          if (err.errno !== 0) throw new KernelError(err.errno, err.extAck);
          if (interrupted) throw new DumpInterrupted(replies);
          return replies;
        }
        replies.push(m);
        // A single (non-multipart) reply to a get without NLM_F_ACK ends the exchange.
        if (!isDump && !(m.flags & NLM_F_MULTI) && !(flags & NLM_F_ACK)) return replies;
      }
    }
  }

  private receive(): NetlinkMessage[] {
    for (;;) {
      const n = this.c.recvfrom(this.fd, this.rx, this.rx.length, MSG_TRUNC, null, null);
      if (n < 0) {
        const errno = koffi.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) throw new KernelError(ETIMEDOUT, `no reply from the kernel within ${REPLY_TIMEOUT_S} s`);
        throw new KernelError(errno, errno === ENOBUFS ? 'netlink receive buffer overrun' : undefined);
      }
      if (n > this.rx.length) throw new KernelError(ENOBUFS, `netlink message of ${n} bytes exceeds the ${this.rx.length}-byte buffer`);
      // Copy: the receive buffer is reused by the next call.
      return parseMessages(Buffer.from(this.rx.subarray(0, n)));
    }
  }

  /** Leaves the descriptor open for whoever adopted it; this object can not be used afterwards. */
  detach(): number {
    this.closed = true;
    return this.fd;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }
}

/** A batch the kernel refused (nothing of it was applied); `index` is the message it names. */
export class BatchRefusal extends KernelError {
  constructor(
    errno: number,
    readonly index: number,
    extAck?: string,
  ) {
    super(errno, extAck);
    this.name = 'BatchRefusal';
  }
}

class DumpInterrupted extends Error {
  constructor(readonly replies: NetlinkMessage[]) {
    super('netlink dump interrupted');
  }
}
