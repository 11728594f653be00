/**
 * rtnetlink requests and replies for links, addresses and routes: builders that return the
 * message body a socket sends, and decoders that turn replies into the plain types of types.ts.
 * Pure (no kernel), so every byte is unit-testable.
 */
// The ip module alone: the package root also loads zod and every schema (~12 MB in each worker isolate).
import { bytesToIP, ipToBytes, parseCidr } from '@tsnet/shared/dist/ip';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  Attr,
  decodeIfAddrMsg,
  decodeIfInfoMsg,
  decodeRtMsg,
  decodeString,
  encodeAttrs,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeRtMsg,
  formatMac,
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseAttrs,
  parseMac,
  RTMSG_LEN,
  type NetlinkMessage,
} from './message';
import type { AddressInfo, LinkInfo, RouteInfo } from './types';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_LINKINFO = 18;
export const IFLA_GROUP = 27;
export const IFLA_NET_NS_FD = 28;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
export const IFLA_BRPORT_MODE = 4;
export const IFLA_BRPORT_ISOLATED = 33;
const AF_BRIDGE = 7;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_BROADCAST = 4;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_TABLE = 15;
export const RT_TABLE_MAIN = 254;

export const IFF_UP = 0x1;
/** IFNAMSIZ is 16 including the NUL. */
export const IFNAME_MAX = 15;

/** A request body ready for a socket, which adds the header and sequence number. */
export interface Request {
  type: number;
  flags: number;
  payload: Buffer;
}

const CREATE_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const CHANGE_FLAGS = NLM_F_REQUEST | NLM_F_ACK;
const DUMP_FLAGS = NLM_F_REQUEST | NLM_F_DUMP;

/** Returns a reason when `name` cannot be an interface name, else undefined. */
export function invalidIfName(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'empty interface name';
  if (bytes > IFNAME_MAX) return `interface name "${name}" is ${bytes} bytes, at most ${IFNAME_MAX} allowed`;
  if (/[/\s:]/.test(name) || name === '.' || name === '..') return `interface name "${name}" contains a character the kernel refuses`;
  return undefined;
}

// --- links ----------------------------------------------------------------------------------

export function getLinkRequest(name: string): Request {
  return { type: RTM_GETLINK, flags: NLM_F_REQUEST, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs([Attr.string(IFLA_IFNAME, name)])]) };
}

export function dumpLinksRequest(): Request {
  return { type: RTM_GETLINK, flags: DUMP_FLAGS, payload: encodeIfInfoMsg({}) };
}

export function newBridgeRequest(name: string, opts: { mtu?: number; mac?: string } = {}): Request {
  const attrs = [Attr.string(IFLA_IFNAME, name)];
  if (opts.mac !== undefined) attrs.push(new Attr(IFLA_ADDRESS, parseMac(opts.mac)));
  if (opts.mtu !== undefined) attrs.push(Attr.u32(IFLA_MTU, opts.mtu));
  attrs.push(Attr.nested(IFLA_LINKINFO, [Attr.string(IFLA_INFO_KIND, 'bridge')]));
  return { type: RTM_NEWLINK, flags: CREATE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs(attrs)]) };
}

export interface VethRequestOptions {
  mtu?: number;
  /** ifindex of the bridge for the host end. */
  masterIndex?: number;
  peerMac?: string;
  /** An open nsfs file descriptor: the peer is created in that namespace. */
  peerNetnsFd?: number;
  /** Set IFF_UP on the host end in the same message. */
  up?: boolean;
}

/** One RTM_NEWLINK creating both ends: host end attached, sized and up; the peer sized, addressed and placed. */
export function newVethRequest(hostName: string, peerName: string, opts: VethRequestOptions = {}): Request {
  const peerAttrs = [Attr.string(IFLA_IFNAME, peerName)];
  if (opts.peerMac !== undefined) peerAttrs.push(new Attr(IFLA_ADDRESS, parseMac(opts.peerMac)));
  if (opts.mtu !== undefined) peerAttrs.push(Attr.u32(IFLA_MTU, opts.mtu));
  if (opts.peerNetnsFd !== undefined) peerAttrs.push(Attr.u32(IFLA_NET_NS_FD, opts.peerNetnsFd));

  const attrs = [Attr.string(IFLA_IFNAME, hostName)];
  if (opts.mtu !== undefined) attrs.push(Attr.u32(IFLA_MTU, opts.mtu));
  if (opts.masterIndex !== undefined) attrs.push(Attr.u32(IFLA_MASTER, opts.masterIndex));
  attrs.push(
    Attr.nested(IFLA_LINKINFO, [
      Attr.string(IFLA_INFO_KIND, 'veth'),
      Attr.nested(IFLA_INFO_DATA, [Attr.headed(VETH_INFO_PEER, encodeIfInfoMsg({}), peerAttrs)]),
    ]),
  );
  const up = opts.up ? IFF_UP : 0;
  return { type: RTM_NEWLINK, flags: CREATE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({ flags: up, change: up }), encodeAttrs(attrs)]) };
}

/**
 * RTM_SETLINK of family AF_BRIDGE on a bridge port (what `bridge link set` sends): hairpin mode
 * and isolation, as IFLA_BRPORT_* flags in a nested IFLA_PROTINFO. The kernel finds the port by
 * ifindex only.
 */
export function bridgePortRequest(index: number, flags: { hairpin?: boolean; isolated?: boolean }): Request {
  const port: Attr[] = [];
  if (flags.hairpin !== undefined) port.push(Attr.u8(IFLA_BRPORT_MODE, flags.hairpin ? 1 : 0));
  if (flags.isolated !== undefined) port.push(Attr.u8(IFLA_BRPORT_ISOLATED, flags.isolated ? 1 : 0));
  return { type: RTM_SETLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({ family: AF_BRIDGE, index }), encodeAttrs([Attr.nested(IFLA_PROTINFO, port)])]) };
}

export function deleteLinkRequest(name: string): Request {
  return { type: RTM_DELLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs([Attr.string(IFLA_IFNAME, name)])]) };
}

/** RTM_SETLINK by ifindex: down and off its bridge (IFLA_MASTER 0), so it carries nothing more. */
export function detachLinkRequest(index: number): Request {
  return { type: RTM_SETLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({ index, flags: 0, change: IFF_UP }), encodeAttrs([Attr.u32(IFLA_MASTER, 0)])]) };
}

/** RTM_SETLINK by ifindex renaming a link (the kernel refuses while it is up). */
export function renameLinkRequest(index: number, name: string): Request {
  return { type: RTM_SETLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({ index }), encodeAttrs([Attr.string(IFLA_IFNAME, name)])]) };
}

/** RTM_SETLINK putting a link into a link group (IFLA_GROUP), to delete several at once. */
export function setGroupRequest(name: string, group: number): Request {
  return { type: RTM_SETLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs([Attr.string(IFLA_IFNAME, name), Attr.u32(IFLA_GROUP, group)])]) };
}

/**
 * RTM_DELLINK of every link in a group: the kernel unregisters them together, paying its RCU
 * grace periods once for the whole batch instead of once per link.
 */
export function deleteGroupRequest(group: number): Request {
  return { type: RTM_DELLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs([Attr.u32(IFLA_GROUP, group)])]) };
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  masterIndex?: number;
  mac?: string;
}

/** RTM_SETLINK on an existing link found by name. */
export function setLinkRequest(name: string, change: LinkChange): Request {
  const attrs = [Attr.string(IFLA_IFNAME, name)];
  if (change.mac !== undefined) attrs.push(new Attr(IFLA_ADDRESS, parseMac(change.mac)));
  if (change.mtu !== undefined) attrs.push(Attr.u32(IFLA_MTU, change.mtu));
  if (change.masterIndex !== undefined) attrs.push(Attr.u32(IFLA_MASTER, change.masterIndex));
  const hdr = change.up === undefined ? {} : { flags: change.up ? IFF_UP : 0, change: IFF_UP };
  return { type: RTM_SETLINK, flags: CHANGE_FLAGS, payload: Buffer.concat([encodeIfInfoMsg(hdr), encodeAttrs(attrs)]) };
}

export function decodeLink(msg: NetlinkMessage): LinkInfo {
  const hdr = decodeIfInfoMsg(msg.payload);
  const attrs = parseAttrs(msg.payload.subarray(IFINFOMSG_LEN));
  const link: LinkInfo = {
    index: hdr.index,
    name: decodeString(attrs.get(IFLA_IFNAME) ?? Buffer.alloc(0)),
    mtu: attrs.get(IFLA_MTU)?.readUInt32LE(0) ?? 0,
    up: (hdr.flags & IFF_UP) !== 0,
  };
  const info = attrs.get(IFLA_LINKINFO);
  const kind = info && parseAttrs(info).get(IFLA_INFO_KIND);
  if (kind) link.kind = decodeString(kind);
  const master = attrs.get(IFLA_MASTER);
  if (master) link.masterIndex = master.readUInt32LE(0);
  const mac = attrs.get(IFLA_ADDRESS);
  if (mac && mac.length > 0) link.mac = formatMac(mac);
  const peer = attrs.get(IFLA_LINK);
  if (peer && link.kind === 'veth') link.peerIndex = peer.readInt32LE(0);
  return link;
}

// --- addresses ------------------------------------------------------------------------------

function familyOf(f: 4 | 6): number {
  return f === 4 ? AF_INET : AF_INET6;
}

/** RTM_NEWADDR / RTM_DELADDR for "addr/len"; IPv4 gets IFA_LOCAL and the broadcast address like iproute2's `brd +`. */
export function addressRequest(op: 'add' | 'delete', ifindex: number, cidr: string): Request {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`invalid address "${cidr}", expected addr/len`);
  const addr = Buffer.from(ipToBytes(c.address));
  const attrs: Attr[] = [];
  if (c.family === 4) {
    attrs.push(new Attr(IFA_LOCAL, addr), new Attr(IFA_ADDRESS, addr));
    if (op === 'add' && c.prefixLength < 31) attrs.push(new Attr(IFA_BROADCAST, broadcastOf(addr, c.prefixLength)));
  } else {
    attrs.push(new Attr(IFA_ADDRESS, addr));
  }
  return {
    type: op === 'add' ? RTM_NEWADDR : RTM_DELADDR,
    flags: op === 'add' ? CREATE_FLAGS : CHANGE_FLAGS,
    payload: Buffer.concat([encodeIfAddrMsg({ family: familyOf(c.family), prefixlen: c.prefixLength, index: ifindex }), encodeAttrs(attrs)]),
  };
}

function broadcastOf(addr: Buffer, prefixLength: number): Buffer {
  const v = addr.readUInt32BE(0);
  const hostMask = prefixLength === 0 ? 0xffffffff : (1 << (32 - prefixLength)) - 1;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((v | hostMask) >>> 0, 0);
  return b;
}

export function dumpAddressesRequest(): Request {
  return { type: RTM_GETADDR, flags: DUMP_FLAGS, payload: encodeIfAddrMsg({ family: AF_UNSPEC }) };
}

/** undefined for families other than IPv4/IPv6. */
export function decodeAddress(msg: NetlinkMessage): AddressInfo | undefined {
  const hdr = decodeIfAddrMsg(msg.payload);
  if (hdr.family !== AF_INET && hdr.family !== AF_INET6) return undefined;
  const attrs = parseAttrs(msg.payload.subarray(IFADDRMSG_LEN));
  // For IPv4 IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links).
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!raw) return undefined;
  return { ifindex: hdr.index, family: hdr.family === AF_INET ? 4 : 6, cidr: `${bytesToIP([...raw])}/${hdr.prefixlen}` };
}

// --- routes ---------------------------------------------------------------------------------

export function dumpRoutesRequest(family?: 4 | 6): Request {
  return { type: RTM_GETROUTE, flags: DUMP_FLAGS, payload: encodeRtMsg({ family: family ? familyOf(family) : AF_UNSPEC }) };
}

/** undefined for families other than IPv4/IPv6. */
export function decodeRoute(msg: NetlinkMessage): RouteInfo | undefined {
  const hdr = decodeRtMsg(msg.payload);
  if (hdr.family !== AF_INET && hdr.family !== AF_INET6) return undefined;
  const family = hdr.family === AF_INET ? 4 : 6;
  const attrs = parseAttrs(msg.payload.subarray(RTMSG_LEN));
  const dst = attrs.get(RTA_DST);
  const route: RouteInfo = {
    family,
    dst: dst ? `${bytesToIP([...dst])}/${hdr.dstLen}` : family === 4 ? '0.0.0.0/0' : '::/0',
    table: attrs.get(RTA_TABLE)?.readUInt32LE(0) ?? hdr.table,
  };
  const gw = attrs.get(RTA_GATEWAY);
  if (gw) route.gateway = bytesToIP([...gw]);
  const oif = attrs.get(RTA_OIF);
  if (oif) route.ifindex = oif.readUInt32LE(0);
  return route;
}
