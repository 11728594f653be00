/**
 * rtnetlink messages of the multi-host data plane (flannel's vxlan backend, routed): the VXLAN
 * link, and per remote host one FDB entry (AF_BRIDGE RTM_NEWNEIGH with NDA_DST: remote VTEP MAC
 * -> underlay address), one permanent neighbour (underlay address -> VTEP MAC on the VXLAN link)
 * and one onlink route per remote address block. Pure builders and decoders, unit-tested byte by byte.
 */
// The ip module alone: the package root also loads zod and every schema (~12 MB in each worker isolate).
import { bytesToIP, ipToBytes, parseCidr } from '@tsnet/shared/dist/ip';
import {
  AF_BRIDGE,
  AF_INET,
  Attr,
  decodeIfInfoMsg,
  decodeRtMsg,
  encodeAttrs,
  encodeIfInfoMsg,
  encodeRtMsg,
  formatMac,
  IFINFOMSG_LEN,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  parseAttrs,
  parseMac,
  RTMSG_LEN,
  type NetlinkMessage,
} from '../netlink/message';
import { IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, IFF_UP, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_TABLE, RTM_NEWLINK, RTM_SETLINK, RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE, type Request } from '../netlink/rtnl';

export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const NDMSG_LEN = 12;

export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_PORT = 15;

export const RTN_UNICAST = 1;
export const RTNH_F_ONLINK = 4;
/** Routes tsnet's cluster module owns carry this protocol number ('t'), so a restart finds exactly them. */
export const RTPROT_TSNET = 116;

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
const CHANGE = NLM_F_REQUEST | NLM_F_ACK;
const DUMP = NLM_F_REQUEST | NLM_F_DUMP;

export interface VxlanSpec {
  name: string;
  vni: number;
  /** Underlay source address (IPv4). */
  local: string;
  /** UDP destination port. */
  port: number;
  /** ifindex of the underlay link (packets leave through it). */
  linkIndex?: number;
  mtu: number;
  mac: string;
}

export interface VxlanInfo {
  vni?: number;
  local?: string;
  port?: number;
}

export interface Fdb {
  mac: string;
  dst: string;
}
export interface Neighbour {
  ip: string;
  mac: string;
}
export interface OnlinkRoute {
  /** "10.60.0.64/26" */
  dst: string;
  gateway: string;
}

function ndmsg(family: number, ifindex: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  return b;
}

const ip4 = (type: number, ip: string): Attr => new Attr(type, Buffer.from(ipToBytes(ip)));

/** A VXLAN link without learning (entries are programmed, never learnt), up, with a fixed MAC. */
export function newVxlanRequest(s: VxlanSpec): Request {
  const data = [Attr.u32(IFLA_VXLAN_ID, s.vni), ip4(IFLA_VXLAN_LOCAL, s.local), Attr.u16be(IFLA_VXLAN_PORT, s.port), Attr.u8(IFLA_VXLAN_LEARNING, 0)];
  if (s.linkIndex !== undefined) data.push(Attr.u32(IFLA_VXLAN_LINK, s.linkIndex));
  const attrs = [
    Attr.string(IFLA_IFNAME, s.name),
    Attr.u32(IFLA_MTU, s.mtu),
    new Attr(IFLA_ADDRESS, parseMac(s.mac)),
    Attr.nested(IFLA_LINKINFO, [Attr.string(IFLA_INFO_KIND, 'vxlan'), Attr.nested(IFLA_INFO_DATA, data)]),
  ];
  return { type: RTM_NEWLINK, flags: CREATE, payload: Buffer.concat([encodeIfInfoMsg({ flags: IFF_UP, change: IFF_UP }), encodeAttrs(attrs)]) };
}

/** VNI, local address and port of a VXLAN link from an RTM_NEWLINK reply (undefined fields when absent). */
export function decodeVxlanInfo(msg: NetlinkMessage): VxlanInfo {
  const attrs = parseAttrs(msg.payload.subarray(IFINFOMSG_LEN));
  const li = attrs.get(IFLA_LINKINFO);
  if (!li) return {};
  const info = parseAttrs(li);
  const data = info.get(IFLA_INFO_DATA);
  if (!data) return {};
  const d = parseAttrs(data);
  return {
    vni: d.get(IFLA_VXLAN_ID)?.readUInt32LE(0),
    local: d.get(IFLA_VXLAN_LOCAL) ? bytesToIP([...d.get(IFLA_VXLAN_LOCAL)!]) : undefined,
    port: d.get(IFLA_VXLAN_PORT)?.readUInt16BE(0),
  };
}

export function fdbRequest(op: 'add' | 'delete', ifindex: number, e: Fdb): Request {
  const attrs = [new Attr(NDA_LLADDR, parseMac(e.mac)), ip4(NDA_DST, e.dst)];
  return {
    type: op === 'add' ? RTM_NEWNEIGH : RTM_DELNEIGH,
    flags: op === 'add' ? REPLACE : CHANGE,
    payload: Buffer.concat([ndmsg(AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF), encodeAttrs(attrs)]),
  };
}

export function neighbourRequest(op: 'add' | 'delete', ifindex: number, n: Neighbour): Request {
  const attrs = [ip4(NDA_DST, n.ip), new Attr(NDA_LLADDR, parseMac(n.mac))];
  return {
    type: op === 'add' ? RTM_NEWNEIGH : RTM_DELNEIGH,
    flags: op === 'add' ? REPLACE : CHANGE,
    payload: Buffer.concat([ndmsg(AF_INET, ifindex, NUD_PERMANENT, 0), encodeAttrs(attrs)]),
  };
}

export function dumpNeighboursRequest(family: 'inet' | 'bridge'): Request {
  return { type: RTM_GETNEIGH, flags: DUMP, payload: ndmsg(family === 'inet' ? AF_INET : AF_BRIDGE, 0, 0, 0) };
}

export interface NeighEntry {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  dst?: string;
  mac?: string;
}

export function decodeNeighbour(msg: NetlinkMessage): NeighEntry {
  const p = msg.payload;
  const attrs = parseAttrs(p.subarray(NDMSG_LEN));
  const dst = attrs.get(NDA_DST);
  const ll = attrs.get(NDA_LLADDR);
  return {
    family: p.readUInt8(0),
    ifindex: p.readInt32LE(4),
    state: p.readUInt16LE(8),
    flags: p.readUInt8(10),
    dst: dst && (dst.length === 4 || dst.length === 16) ? bytesToIP([...dst]) : undefined,
    mac: ll && ll.length === 6 ? formatMac(ll) : undefined,
  };
}

export function onlinkRouteRequest(op: 'add' | 'delete', ifindex: number, r: OnlinkRoute): Request {
  const c = parseCidr(r.dst);
  if (!c || c.family !== 4) throw new Error(`route destination ${JSON.stringify(r.dst)} is not an IPv4 prefix`);
  const hdr = encodeRtMsg({ family: AF_INET, dstLen: c.prefixLength, table: RT_TABLE_MAIN, protocol: RTPROT_TSNET, scope: 0, type: RTN_UNICAST, flags: RTNH_F_ONLINK });
  const attrs = [ip4(RTA_DST, c.network), ip4(RTA_GATEWAY, r.gateway), Attr.u32(RTA_OIF, ifindex)];
  return { type: op === 'add' ? RTM_NEWROUTE : RTM_DELROUTE, flags: op === 'add' ? REPLACE : CHANGE, payload: Buffer.concat([hdr, encodeAttrs(attrs)]) };
}

export function dumpRoutesRequest(): Request {
  return { type: RTM_GETROUTE, flags: DUMP, payload: encodeRtMsg({ family: AF_INET }) };
}

export interface RouteEntry {
  dst: string;
  gateway?: string;
  ifindex?: number;
  protocol: number;
  table: number;
}

export function decodeRoute(msg: NetlinkMessage): RouteEntry | undefined {
  const h = decodeRtMsg(msg.payload);
  if (h.family !== AF_INET) return undefined;
  const a = parseAttrs(msg.payload.subarray(RTMSG_LEN));
  const dst = a.get(RTA_DST);
  const gw = a.get(RTA_GATEWAY);
  return {
    dst: `${dst ? bytesToIP([...dst]) : '0.0.0.0'}/${h.dstLen}`,
    gateway: gw ? bytesToIP([...gw]) : undefined,
    ifindex: a.get(RTA_OIF)?.readUInt32LE(0),
    protocol: h.protocol,
    table: a.get(RTA_TABLE)?.readUInt32LE(0) ?? h.table,
  };
}

export { decodeIfInfoMsg };

/** RTM_SETLINK giving a link a fixed MAC (a bridge then keeps it whatever ports come and go). */
export function setLinkMacRequest(name: string, mac: string): Request {
  return { type: RTM_SETLINK, flags: CHANGE, payload: Buffer.concat([encodeIfInfoMsg({}), encodeAttrs([Attr.string(IFLA_IFNAME, name), new Attr(IFLA_ADDRESS, parseMac(mac))])]) };
}
