/**
 * Netlink wire format: nlmsghdr, route attributes (nested ones serialise themselves) and the
 * fixed headers of the rtnetlink families (ifinfomsg, ifaddrmsg, rtmsg) and of nfnetlink
 * (nfgenmsg). Pure encoding and decoding, no kernel: everything here is unit-tested against byte
 * layouts. Host byte order is little-endian on every platform the driver runs on (x86_64, arm64).
 */

// --- nlmsghdr -------------------------------------------------------------------------------

export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ack TLVs follow the echoed request. */
export const NLM_F_ACK_TLVS = 0x200;

export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len. */
  payload: Buffer;
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export function encodeMessage(type: number, flags: number, seq: number, payload: Buffer, pid = 0): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const buf = Buffer.alloc(align4(len));
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(pid >>> 0, 12);
  payload.copy(buf, NLMSG_HDRLEN);
  return buf;
}

/** Splits one datagram into its messages. Throws on a malformed length (a kernel bug or a truncated read). */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new Error(`malformed netlink message: length ${len} at offset ${off} of ${buf.length}`);
    }
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

export interface NetlinkErrorPayload {
  /** Positive errno; 0 for a plain ack. */
  errno: number;
  /** NLMSGERR_ATTR_MSG: the kernel's extended-ack text. */
  extAck?: string;
  /** NLMSGERR_ATTR_OFFS: offset in the request of the attribute the kernel objected to. */
  extAckOffset?: number;
}

/** Decodes an NLMSG_ERROR (or the errno of an NLMSG_DONE): struct nlmsgerr plus ext-ack TLVs. */
export function parseErrorPayload(msg: NetlinkMessage): NetlinkErrorPayload {
  const p = msg.payload;
  if (p.length < 4) return { errno: 0 };
  const errno = -p.readInt32LE(0) | 0; // "| 0": no -0 for an ack
  const result: NetlinkErrorPayload = { errno };
  if (msg.type !== NLMSG_ERROR || !(msg.flags & NLM_F_ACK_TLVS) || p.length < 4 + NLMSG_HDRLEN) return result;
  const echoedLen = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : p.readUInt32LE(4);
  const attrs = parseAttrs(p.subarray(4 + align4(echoedLen)));
  const text = attrs.get(NLMSGERR_ATTR_MSG);
  if (text) result.extAck = decodeString(text);
  const offs = attrs.get(NLMSGERR_ATTR_OFFS);
  if (offs && offs.length >= 4) result.extAckOffset = offs.readUInt32LE(0);
  return result;
}

// --- route attributes -----------------------------------------------------------------------

export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** One route attribute; a nested one holds its children and serialises them in order. */
export class Attr {
  constructor(
    readonly type: number,
    readonly value: Buffer | Attr[],
  ) {}

  static u8(type: number, v: number): Attr {
    return new Attr(type, Buffer.from([v & 0xff]));
  }

  static u16(type: number, v: number): Attr {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v, 0);
    return new Attr(type, b);
  }

  static u16be(type: number, v: number): Attr {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v, 0);
    return new Attr(type, b);
  }

  static u32(type: number, v: number): Attr {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0, 0);
    return new Attr(type, b);
  }

  static s32(type: number, v: number): Attr {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v, 0);
    return new Attr(type, b);
  }

  /** NUL-terminated, as the kernel's NLA_STRING / NLA_NUL_STRING policies expect. */
  static string(type: number, s: string): Attr {
    return new Attr(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]));
  }

  static nested(type: number, children: Attr[]): Attr {
    return new Attr(type | NLA_F_NESTED, children);
  }

  /** Attribute whose body is a fixed header followed by attributes (VETH_INFO_PEER carries an ifinfomsg). */
  static headed(type: number, header: Buffer, children: Attr[]): Attr {
    return new Attr(type, Buffer.concat([header, encodeAttrs(children)]));
  }

  encode(): Buffer {
    const body = Buffer.isBuffer(this.value) ? this.value : encodeAttrs(this.value);
    const len = NLA_HDRLEN + body.length;
    const buf = Buffer.alloc(align4(len));
    buf.writeUInt16LE(len, 0);
    buf.writeUInt16LE(this.type, 2);
    body.copy(buf, NLA_HDRLEN);
    return buf;
  }
}

export function encodeAttrs(attrs: Attr[]): Buffer {
  return Buffer.concat(attrs.map((a) => a.encode()));
}

/**
 * Decodes a run of attributes into type → body (flags masked off). A repeated type keeps the
 * first occurrence; use `parseAttrList` where repetition matters.
 */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  for (const a of parseAttrList(buf)) if (!map.has(a.type)) map.set(a.type, a.value);
  return map;
}

export function parseAttrList(buf: Buffer): { type: number; value: Buffer }[] {
  const out: { type: number; value: Buffer }[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, value: buf.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

export function decodeString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function parseMac(s: string): Buffer {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) throw new Error(`invalid MAC address "${s}"`);
  return Buffer.from(s.split(':').map((x) => parseInt(x, 16)));
}

// --- rtnetlink fixed headers ----------------------------------------------------------------

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;

/** struct ifinfomsg: 16 bytes. */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export const IFINFOMSG_LEN = 16;

export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

export function decodeIfInfoMsg(b: Buffer): IfInfoMsg {
  return { family: b.readUInt8(0), type: b.readUInt16LE(2), index: b.readInt32LE(4), flags: b.readUInt32LE(8), change: b.readUInt32LE(12) };
}

/** struct ifaddrmsg: 8 bytes. */
export interface IfAddrMsg {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
}

export const IFADDRMSG_LEN = 8;

export function encodeIfAddrMsg(m: Partial<IfAddrMsg>): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt8(m.prefixlen ?? 0, 1);
  b.writeUInt8(m.flags ?? 0, 2);
  b.writeUInt8(m.scope ?? 0, 3);
  b.writeUInt32LE(m.index ?? 0, 4);
  return b;
}

export function decodeIfAddrMsg(b: Buffer): IfAddrMsg {
  return { family: b.readUInt8(0), prefixlen: b.readUInt8(1), flags: b.readUInt8(2), scope: b.readUInt8(3), index: b.readUInt32LE(4) };
}

/** struct rtmsg: 12 bytes. */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export const RTMSG_LEN = 12;

export function encodeRtMsg(m: Partial<RtMsg>): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt8(m.dstLen ?? 0, 1);
  b.writeUInt8(m.srcLen ?? 0, 2);
  b.writeUInt8(m.tos ?? 0, 3);
  b.writeUInt8(m.table ?? 0, 4);
  b.writeUInt8(m.protocol ?? 0, 5);
  b.writeUInt8(m.scope ?? 0, 6);
  b.writeUInt8(m.type ?? 0, 7);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  return b;
}

export function decodeRtMsg(b: Buffer): RtMsg {
  return {
    family: b.readUInt8(0),
    dstLen: b.readUInt8(1),
    srcLen: b.readUInt8(2),
    tos: b.readUInt8(3),
    table: b.readUInt8(4),
    protocol: b.readUInt8(5),
    scope: b.readUInt8(6),
    type: b.readUInt8(7),
    flags: b.readUInt32LE(8),
  };
}

/** struct nfgenmsg: 4 bytes; res_id is big-endian. */
export interface NfGenMsg {
  family: number;
  version: number;
  resId: number;
}

export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;

export function encodeNfGenMsg(m: Partial<NfGenMsg>): Buffer {
  const b = Buffer.alloc(NFGENMSG_LEN);
  b.writeUInt8(m.family ?? AF_UNSPEC, 0);
  b.writeUInt8(m.version ?? NFNETLINK_V0, 1);
  b.writeUInt16BE(m.resId ?? 0, 2);
  return b;
}

export function decodeNfGenMsg(b: Buffer): NfGenMsg {
  return { family: b.readUInt8(0), version: b.readUInt8(1), resId: b.readUInt16BE(2) };
}
