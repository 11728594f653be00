/**
 * ctnetlink (nfnetlink subsystem 1) messages: dump the conntrack table of one family and delete
 * single entries by their original tuple. Pure encoding/decoding; the socket lives in ops.ts.
 */
// The ip module alone: the package root also loads zod and every schema (~12 MB in each worker isolate).
import { bytesToIP } from '@tsnet/shared/dist/ip';
import {
  AF_INET,
  AF_INET6,
  Attr,
  decodeNfGenMsg,
  encodeAttrs,
  encodeNfGenMsg,
  NFGENMSG_LEN,
  NLA_F_NESTED,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  parseAttrs,
  type NetlinkMessage,
} from './message';
import type { Request } from './rtnl';

export const NFNL_SUBSYS_CTNETLINK = 1;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;

export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_ID = 12;
export const CTA_ZONE = 18;
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

export function ctnlType(msg: number): number {
  return (NFNL_SUBSYS_CTNETLINK << 8) | msg;
}

export interface ConntrackEntry {
  family: 4 | 6;
  origSrc?: string;
  origDst?: string;
  replySrc?: string;
  replyDst?: string;
  /** Body of CTA_TUPLE_ORIG as the kernel sent it: enough to name the entry in a delete. */
  origTuple: Buffer;
  /** CTA_ZONE body (big-endian u16), when not the default zone. */
  zone?: Buffer;
  /** CTA_ID body (big-endian u32): makes the delete hit this very entry, not a successor. */
  id?: Buffer;
}

export function dumpConntrackRequest(family: 4 | 6): Request {
  return {
    type: ctnlType(IPCTNL_MSG_CT_GET),
    flags: NLM_F_REQUEST | NLM_F_DUMP,
    payload: encodeNfGenMsg({ family: family === 4 ? AF_INET : AF_INET6 }),
  };
}

function tupleAddresses(tuple: Buffer | undefined): { src?: string; dst?: string } {
  const ip = tuple && parseAttrs(tuple).get(CTA_TUPLE_IP);
  if (!ip) return {};
  const a = parseAttrs(ip);
  const src = a.get(CTA_IP_V4_SRC) ?? a.get(CTA_IP_V6_SRC);
  const dst = a.get(CTA_IP_V4_DST) ?? a.get(CTA_IP_V6_DST);
  return { src: src && bytesToIP([...src]), dst: dst && bytesToIP([...dst]) };
}

export function decodeConntrack(msg: NetlinkMessage): ConntrackEntry | undefined {
  const hdr = decodeNfGenMsg(msg.payload);
  if (hdr.family !== AF_INET && hdr.family !== AF_INET6) return undefined;
  const attrs = parseAttrs(msg.payload.subarray(NFGENMSG_LEN));
  const origTuple = attrs.get(CTA_TUPLE_ORIG);
  if (!origTuple) return undefined;
  const orig = tupleAddresses(origTuple);
  const reply = tupleAddresses(attrs.get(CTA_TUPLE_REPLY));
  return {
    family: hdr.family === AF_INET ? 4 : 6,
    origSrc: orig.src,
    origDst: orig.dst,
    replySrc: reply.src,
    replyDst: reply.dst,
    origTuple,
    zone: attrs.get(CTA_ZONE),
    id: attrs.get(CTA_ID),
  };
}

/** The entries deleteConntrackFor(ip) removes: traffic to `ip`, or answered by `ip` (DNAT'd to it). */
export function conntrackMatches(e: ConntrackEntry, ip: string): boolean {
  return e.origDst === ip || e.replySrc === ip;
}

export function deleteConntrackRequest(e: ConntrackEntry): Request {
  const attrs = [new Attr(CTA_TUPLE_ORIG | NLA_F_NESTED, e.origTuple)];
  if (e.zone) attrs.push(new Attr(CTA_ZONE, e.zone));
  if (e.id) attrs.push(new Attr(CTA_ID, e.id));
  return {
    type: ctnlType(IPCTNL_MSG_CT_DELETE),
    flags: NLM_F_REQUEST | NLM_F_ACK,
    payload: Buffer.concat([encodeNfGenMsg({ family: e.family === 4 ? AF_INET : AF_INET6 }), encodeAttrs(attrs)]),
  };
}
