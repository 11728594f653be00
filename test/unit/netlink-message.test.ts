import { strict as assert } from 'node:assert';
import {
  Attr,
  decodeIfAddrMsg,
  decodeIfInfoMsg,
  decodeRtMsg,
  encodeAttrs,
  encodeIfAddrMsg,
  encodeIfInfoMsg,
  encodeMessage,
  encodeNfGenMsg,
  encodeRtMsg,
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseAttrList,
  parseAttrs,
  parseErrorPayload,
  parseMessages,
} from '@tsnet/driver/dist/netlink/message';
import {
  addressRequest,
  decodeAddress,
  decodeLink,
  decodeRoute,
  deleteLinkRequest,
  dumpLinksRequest,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_ADDRESS,
  invalidIfName,
  newBridgeRequest,
  newVethRequest,
  setLinkRequest,
  VETH_INFO_PEER,
} from '@tsnet/driver/dist/netlink/rtnl';
import { conntrackMatches, decodeConntrack, deleteConntrackRequest, dumpConntrackRequest } from '@tsnet/driver/dist/netlink/conntrack';
import { decodeInetDiag, inetDiagRequest } from '@tsnet/driver/dist/netlink/sockdiag';

/** Hex with whitespace for readability: "10 00 12 80". */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

describe('netlink message encoding', () => {
  it('encodes an nlmsghdr: len, type, flags, seq, pid little-endian', () => {
    // RTM_GETLINK dump of all links, seq 1: what `ip link` sends first.
    const req = dumpLinksRequest();
    const msg = encodeMessage(req.type, req.flags, 1, req.payload);
    assert.deepEqual(msg, hex('20000000 1200 0103 01000000 00000000' + '00'.repeat(16)));
  });

  it('pads attributes to 4 bytes but records the unpadded length', () => {
    assert.deepEqual(Attr.string(IFLA_IFNAME, 'eth0').encode(), hex('0900 0300 65746830 00 000000'));
    assert.deepEqual(Attr.u32(IFLA_MTU, 1500).encode(), hex('0800 0400 dc050000'));
    assert.deepEqual(Attr.u16be(18, 0x1234).encode(), hex('0600 1200 1234 0000'));
  });

  it('serialises nested attributes with NLA_F_NESTED', () => {
    const a = Attr.nested(IFLA_LINKINFO, [Attr.string(IFLA_INFO_KIND, 'bridge')]);
    assert.deepEqual(a.encode(), hex('1000 1280 0b00 0100 627269646765 00 00'));
  });

  it('encodes a bridge creation byte for byte (nlmsghdr, ifinfomsg, ifname, mtu, linkinfo)', () => {
    const r = newBridgeRequest('br0', { mtu: 1400 });
    const msg = encodeMessage(r.type, r.flags, 7, r.payload);
    assert.deepEqual(
      msg,
      hex(
        '40000000 1000 0506 07000000 00000000' + // RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
          '00 00 0000 00000000 00000000 00000000' + // ifinfomsg
          '0800 0300 62723000' + // IFLA_IFNAME "br0"
          '0800 0400 78050000' + // IFLA_MTU 1400
          '1000 1280 0b00 0100 627269646765 0000', // IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }
      ),
    );
  });

  it('builds a veth pair in one message: host end master/mtu/up, peer with its own ifinfomsg', () => {
    const r = newVethRequest('tsv1', 'tsc1', { mtu: 1450, masterIndex: 7, peerMac: '02:42:0a:00:00:02', peerNetnsFd: 33, up: true });
    const hdr = decodeIfInfoMsg(r.payload);
    assert.equal(hdr.flags & 1, 1, 'IFF_UP in ifi_flags');
    assert.equal(hdr.change & 1, 1, 'IFF_UP in ifi_change');
    const attrs = parseAttrs(r.payload.subarray(16));
    assert.equal(attrs.get(IFLA_IFNAME)!.toString(), 'tsv1\0');
    assert.equal(attrs.get(IFLA_MTU)!.readUInt32LE(0), 1450);
    assert.equal(attrs.get(IFLA_MASTER)!.readUInt32LE(0), 7);
    const info = parseAttrs(attrs.get(IFLA_LINKINFO)!);
    assert.equal(info.get(IFLA_INFO_KIND)!.toString(), 'veth\0');
    const peer = parseAttrs(info.get(IFLA_INFO_DATA)!).get(VETH_INFO_PEER)!;
    assert.deepEqual(peer.subarray(0, 16), Buffer.alloc(16), 'peer ifinfomsg');
    const peerAttrs = parseAttrs(peer.subarray(16));
    assert.equal(peerAttrs.get(IFLA_IFNAME)!.toString(), 'tsc1\0');
    assert.deepEqual(peerAttrs.get(IFLA_ADDRESS), hex('02420a000002'));
    assert.equal(peerAttrs.get(IFLA_MTU)!.readUInt32LE(0), 1450);
    assert.equal(peerAttrs.get(IFLA_NET_NS_FD)!.readUInt32LE(0), 33);
    // The raw attribute types carry NLA_F_NESTED where the kernel's policy wants it.
    const raw = parseAttrList(r.payload.subarray(16));
    assert.ok(raw.some((a) => a.type === IFLA_LINKINFO));
    assert.equal(r.payload.readUInt16LE(16 + 12 + 8 + 8 + 2), IFLA_LINKINFO | NLA_F_NESTED);
  });

  it('sets a link up or down through ifi_change without touching other flags', () => {
    const up = decodeIfInfoMsg(setLinkRequest('x', { up: true }).payload);
    const down = decodeIfInfoMsg(setLinkRequest('x', { up: false }).payload);
    const mtuOnly = decodeIfInfoMsg(setLinkRequest('x', { mtu: 9000 }).payload);
    assert.deepEqual([up.flags, up.change], [1, 1]);
    assert.deepEqual([down.flags, down.change], [0, 1]);
    assert.deepEqual([mtuOnly.flags, mtuOnly.change], [0, 0]);
    assert.equal(deleteLinkRequest('x').type, 17);
  });

  it('encodes an IPv4 address like `ip addr add 10.1.2.3/24 brd +`', () => {
    const r = addressRequest('add', 5, '10.1.2.3/24');
    assert.equal(r.type, 20);
    assert.deepEqual(
      r.payload,
      hex('02 18 00 00 05000000' + '0800 0200 0a010203' + '0800 0100 0a010203' + '0800 0400 0a0102ff'),
    );
  });

  it('encodes an IPv6 address with IFA_ADDRESS only', () => {
    const r = addressRequest('delete', 3, 'fd00::1/64');
    assert.equal(r.type, 21);
    assert.deepEqual(r.payload, hex('0a 40 00 00 03000000' + '1400 0100 fd000000000000000000000000000001'));
  });

  it('round-trips the fixed headers', () => {
    const ifi = { family: 7, type: 1, index: 42, flags: 0x1003, change: 0xffffffff };
    assert.deepEqual(decodeIfInfoMsg(encodeIfInfoMsg(ifi)), ifi);
    const ifa = { family: 10, prefixlen: 64, flags: 0x80, scope: 253, index: 9 };
    assert.deepEqual(decodeIfAddrMsg(encodeIfAddrMsg(ifa)), ifa);
    assert.deepEqual(encodeIfAddrMsg(ifa), hex('0a 40 80 fd 09000000'));
    const rt = { family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 2, scope: 253, type: 1, flags: 0 };
    assert.deepEqual(decodeRtMsg(encodeRtMsg(rt)), rt);
    assert.deepEqual(encodeRtMsg(rt), hex('02 18 00 00 fe 02 fd 01 00000000'));
    assert.deepEqual(encodeNfGenMsg({ family: 2, resId: 0x0102 }), hex('02 00 0102'));
  });

  it('splits a multipart datagram and stops at NLMSG_DONE', () => {
    const a = encodeMessage(16, NLM_F_MULTI, 9, Buffer.from([1, 2, 3])); // padded to 20 bytes
    const done = encodeMessage(NLMSG_DONE, NLM_F_MULTI, 9, hex('00000000'));
    const msgs = parseMessages(Buffer.concat([a, done]));
    assert.equal(msgs.length, 2);
    assert.deepEqual(msgs[0].payload, Buffer.from([1, 2, 3]));
    assert.equal(msgs[1].type, NLMSG_DONE);
    assert.equal(parseErrorPayload(msgs[1]).errno, 0);
    assert.throws(() => parseMessages(hex('ff000000 1000 0000 00000000 00000000')), /malformed/);
  });

  it('reads errno and the extended-ack text of an NLMSG_ERROR', () => {
    const echoed = hex('40000000 1000 0506 07000000 00000000'); // capped: header only
    const tlv = encodeAttrs([Attr.string(1, 'Attribute failed policy validation'), Attr.u32(2, 36)]);
    const payload = Buffer.concat([hex('efffffff'), echoed, tlv]); // -17
    const msg = parseMessages(encodeMessage(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 7, payload))[0];
    assert.deepEqual(parseErrorPayload(msg), { errno: 17, extAck: 'Attribute failed policy validation', extAckOffset: 36 });
    const ack = parseMessages(encodeMessage(NLMSG_ERROR, NLM_F_CAPPED, 7, Buffer.concat([hex('00000000'), echoed])))[0];
    assert.deepEqual(parseErrorPayload(ack), { errno: 0 });
  });

  it('rejects interface names the kernel would refuse', () => {
    assert.equal(invalidIfName('tsv0123456789ab'), undefined); // 15 bytes
    assert.match(invalidIfName('tsv0123456789abc')!, /16 bytes/);
    assert.ok(invalidIfName(''));
    assert.ok(invalidIfName('a/b'));
  });
});

describe('netlink reply decoding', () => {
  it('decodes a veth link from an RTM_NEWLINK reply', () => {
    const payload = Buffer.concat([
      encodeIfInfoMsg({ index: 12, type: 1, flags: 0x1043 }),
      encodeAttrs([
        Attr.string(IFLA_IFNAME, 'tsv1'),
        Attr.u32(IFLA_MTU, 1450),
        Attr.u32(IFLA_MASTER, 3),
        Attr.s32(5, 11), // IFLA_LINK
        new Attr(IFLA_ADDRESS, hex('02420a000002')),
        Attr.nested(IFLA_LINKINFO, [Attr.string(IFLA_INFO_KIND, 'veth')]),
      ]),
    ]);
    const [msg] = parseMessages(encodeMessage(16, 0, 1, payload));
    assert.deepEqual(decodeLink(msg), { index: 12, name: 'tsv1', mtu: 1450, up: true, kind: 'veth', masterIndex: 3, mac: '02:42:0a:00:00:02', peerIndex: 11 });
  });

  it('decodes addresses, preferring IFA_LOCAL for IPv4', () => {
    const v4 = Buffer.concat([hex('02 18 00 00 05000000'), hex('0800 0100 0a000001'), hex('0800 0200 0a000002')]);
    const v6 = Buffer.concat([hex('0a 40 00 00 06000000'), hex('1400 0100 fd000000000000000000000000000001')]);
    assert.deepEqual(decodeAddress(parseMessages(encodeMessage(20, 0, 1, v4))[0]), { ifindex: 5, family: 4, cidr: '10.0.0.2/24' });
    assert.deepEqual(decodeAddress(parseMessages(encodeMessage(20, 0, 1, v6))[0]), { ifindex: 6, family: 6, cidr: 'fd00::1/64' });
  });

  it('decodes a default route and a connected route', () => {
    const dflt = Buffer.concat([encodeRtMsg({ family: 2, table: 254, type: 1 }), hex('0800 0f00 fe000000'), hex('0800 0500 c0000201'), hex('0800 0400 02000000')]);
    const conn = Buffer.concat([encodeRtMsg({ family: 10, dstLen: 64, table: 254, type: 1 }), hex('1400 0100 fd000000000000000000000000000000'), hex('0800 0400 03000000')]);
    assert.deepEqual(decodeRoute(parseMessages(encodeMessage(24, 0, 1, dflt))[0]), { family: 4, dst: '0.0.0.0/0', table: 254, gateway: '192.0.2.1', ifindex: 2 });
    assert.deepEqual(decodeRoute(parseMessages(encodeMessage(24, 0, 1, conn))[0]), { family: 6, dst: 'fd00::/64', table: 254, ifindex: 3 });
  });
});

describe('ctnetlink messages', () => {
  const tuple = (src: string, dst: string) =>
    [
      Attr.nested(1, [new Attr(1, hex(src)), new Attr(2, hex(dst))]), // CTA_TUPLE_IP { V4_SRC, V4_DST }
      Attr.nested(2, [Attr.u8(1, 6), Attr.u16be(2, 40000), Attr.u16be(3, 80)]), // CTA_TUPLE_PROTO { tcp, ports }
    ];
  // 10.0.0.1 -> 10.0.0.9:80 DNAT'd to 10.0.0.5: the reply comes from 10.0.0.5.
  const entry = Buffer.concat([
    encodeNfGenMsg({ family: 2 }),
    encodeAttrs([
      Attr.nested(1, tuple('0a000001', '0a000009')),
      Attr.nested(2, tuple('0a000005', '0a000001')),
      new Attr(12, hex('00000abc')), // CTA_ID
    ]),
  ]);

  it('asks for a dump of one family', () => {
    const r = dumpConntrackRequest(6);
    assert.equal(r.type, 0x0101);
    assert.equal(r.flags, 0x301);
    assert.deepEqual(r.payload, hex('0a 00 0000'));
  });

  it('decodes both tuples and matches on original destination or reply source', () => {
    const e = decodeConntrack(parseMessages(encodeMessage(0x0100, NLM_F_MULTI, 1, entry))[0])!;
    assert.equal(e.origSrc, '10.0.0.1');
    assert.equal(e.origDst, '10.0.0.9');
    assert.equal(e.replySrc, '10.0.0.5');
    assert.ok(conntrackMatches(e, '10.0.0.9'));
    assert.ok(conntrackMatches(e, '10.0.0.5'));
    assert.ok(!conntrackMatches(e, '10.0.0.1'));
  });

  it('deletes an entry by its original tuple and id', () => {
    const e = decodeConntrack(parseMessages(encodeMessage(0x0100, NLM_F_MULTI, 1, entry))[0])!;
    const r = deleteConntrackRequest(e);
    assert.equal(r.type, 0x0102);
    assert.equal(r.flags, 0x05);
    assert.deepEqual(r.payload.subarray(0, 4), hex('02 00 0000'));
    const attrs = parseAttrList(r.payload.subarray(4));
    assert.deepEqual(
      attrs.map((a) => a.type),
      [1, 12],
    );
    assert.equal(r.payload.readUInt16LE(4 + 2), 1 | NLA_F_NESTED);
    assert.deepEqual(attrs[0].value, e.origTuple);
    assert.deepEqual(attrs[1].value, hex('00000abc'));
  });
});

describe('sock_diag messages', () => {
  const msg = (payload: Buffer) => ({ type: 20, flags: 0, seq: 1, pid: 0, payload });

  it('asks for TCP listeners only and for bound or connected UDP sockets', () => {
    const tcp = inetDiagRequest(4, 'tcp');
    assert.equal(tcp.type, 20);
    assert.equal(tcp.payload.length, 56);
    assert.deepEqual([...tcp.payload.subarray(0, 2)], [2, 6]);
    assert.equal(tcp.payload.readUInt32LE(4), 1 << 10);
    const udp = inetDiagRequest(6, 'udp');
    assert.deepEqual([...udp.payload.subarray(0, 2)], [10, 17]);
    assert.equal(udp.payload.readUInt32LE(4), (1 << 7) | (1 << 1));
  });

  it('decodes inet_diag_msg addresses and ports in network order', () => {
    const v4 = Buffer.alloc(72);
    v4.writeUInt8(2, 0);
    v4.writeUInt8(10, 1);
    v4.writeUInt16BE(5555, 4);
    Buffer.from([127, 0, 0, 1]).copy(v4, 8);
    assert.deepEqual(decodeInetDiag(msg(v4), 'tcp'), { proto: 'tcp', localAddress: '127.0.0.1', localPort: 5555, state: 'LISTEN' });
    const v6 = Buffer.alloc(72);
    v6.writeUInt8(10, 0);
    v6.writeUInt8(7, 1);
    v6.writeUInt16BE(53, 4);
    Buffer.from('fe800000000000000250 56fffea1c3bd'.replace(' ', ''), 'hex').copy(v6, 8);
    assert.deepEqual(decodeInetDiag(msg(v6), 'udp'), { proto: 'udp6', localAddress: 'fe80::250:56ff:fea1:c3bd', localPort: 53, state: 'UNCONN' });
    const any6 = Buffer.alloc(72);
    any6.writeUInt8(10, 0);
    any6.writeUInt8(10, 1);
    assert.equal(decodeInetDiag(msg(any6), 'tcp')?.localAddress, '::');
  });
});
