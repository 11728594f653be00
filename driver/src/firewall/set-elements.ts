/**
 * Port maps as raw nf_tables netlink messages (NFT_MSG_NEWSETELEM / DELSETELEM), the same
 * elements libnftables writes for `add element` / `delete element` (rules.ts, 5), without its
 * cost: libnftables builds a cache of the table (chains, rules, sets) on every call, about 1 ms
 * with a few networks, while the kernel's part is about 0.1 ms. Pure encoding; the messages are
 * sent as one batch (one transaction, all or none) by the libnftables worker's netlink socket.
 *
 * Encoding, as nft/libnftnl do it: a concatenated key puts each field at a 4-byte boundary
 * (the protocol byte and the big-endian port each take 4 bytes, zero-padded); map data is the
 * value alone (4 or 16 address bytes, 2 port bytes); the comment is libnftnl's user data TLV
 * NFTNL_UDATA_SET_ELEM_COMMENT with its terminating NUL.
 */
import { ipToBytes } from '@tsnet/shared/dist/ip';
import { Attr, encodeAttrs } from '../netlink/message';
import { byMap, portMapElem, TABLE } from './rules';
import type { PortMapRule } from './types';

export const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;
const NLM_F_CREATE = 0x400;

const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_SET_ELEM_USERDATA = 6;
const NFTA_DATA_VALUE = 1;
const NFTNL_UDATA_SET_ELEM_COMMENT = 0;

const IPPROTO: Record<PortMapRule['proto'], number> = { tcp: 6, udp: 17, sctp: 132 };

export interface NftMessage {
  type: number;
  flags: number;
  payload: Buffer;
  /** The map it writes (for error messages). */
  map: string;
}

/** The key of a port map's elements: [address .] protocol . port, each field 4-byte aligned. */
export function portMapKeyBytes(r: PortMapRule, any: boolean): Buffer {
  const addr = any ? [] : ipToBytes(r.hostIP);
  const b = Buffer.alloc(addr.length + 8);
  Buffer.from(addr).copy(b, 0);
  b.writeUInt8(IPPROTO[r.proto], addr.length);
  b.writeUInt16BE(r.hostPort, addr.length + 4);
  return b;
}

function userData(comment: string): Buffer {
  const text = Buffer.from(`${comment}\0`, 'utf8');
  if (text.length > 255) throw new Error(`element comment longer than 254 bytes: ${comment}`);
  return Buffer.concat([Buffer.from([NFTNL_UDATA_SET_ELEM_COMMENT, text.length]), text]);
}

const value = (type: number, bytes: Buffer) => Attr.nested(type, [new Attr(NFTA_DATA_VALUE, bytes)]);

/**
 * The messages that add (`add`: new address and new port element of every rule, comment
 * included) or delete (`delete`: by key) port maps: one message per map touched, like nft.
 * An `add` of an element already present with the same value is accepted (nft's `add`, not
 * `create`); with another value the kernel refuses it with EEXIST.
 */
export function portMapMessages(verb: 'add' | 'delete', rules: PortMapRule[]): NftMessage[] {
  const pairs = rules.flatMap((r): Array<[string, Attr]> => {
    const e = portMapElem(r);
    const key = value(NFTA_SET_ELEM_KEY, portMapKeyBytes(r, e.any));
    if (verb === 'delete') {
      return [
        [e.names.addr, Attr.nested(NFTA_LIST_ELEM, [key])],
        [e.names.port, Attr.nested(NFTA_LIST_ELEM, [key])],
      ];
    }
    const udata = new Attr(NFTA_SET_ELEM_USERDATA, userData(e.comment));
    const port = Buffer.alloc(2);
    port.writeUInt16BE(e.portValue, 0);
    return [
      [e.names.addr, Attr.nested(NFTA_LIST_ELEM, [key, value(NFTA_SET_ELEM_DATA, Buffer.from(ipToBytes(e.addrValue))), udata])],
      [e.names.port, Attr.nested(NFTA_LIST_ELEM, [key, value(NFTA_SET_ELEM_DATA, port), udata])],
    ];
  });
  const header = Buffer.from([NFPROTO_INET, 0, 0, 0]); // nfgenmsg: family, version 0, res_id 0
  return [...byMap(pairs)].map(([map, elems]) => ({
    type: (NFNL_SUBSYS_NFTABLES << 8) | (verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
    flags: verb === 'add' ? NLM_F_CREATE : 0,
    map,
    payload: Buffer.concat([
      header,
      encodeAttrs([Attr.string(NFTA_SET_ELEM_LIST_TABLE, TABLE), Attr.string(NFTA_SET_ELEM_LIST_SET, map), Attr.nested(NFTA_SET_ELEM_LIST_ELEMENTS, elems)]),
    ]),
  }));
}
