import * as assert from 'node:assert/strict';
import { portMapKeyBytes, portMapMessages } from '@tsnet/driver/dist/firewall/set-elements';
import type { PortMapRule } from '@tsnet/driver/dist/firewall/types';
import { parseAttrList, parseAttrs } from '@tsnet/driver/dist/netlink/message';

const rule = (over: Partial<PortMapRule> = {}): PortMapRule => ({
  networkId: 'a'.repeat(64),
  bridge: 'tsn-aaaaaaaaaaa',
  proto: 'tcp',
  family: 4,
  hostIP: '0.0.0.0',
  hostPort: 8080,
  containerIP: '10.231.0.2',
  containerPort: 80,
  ...over,
});

describe('port-map elements as nf_tables netlink messages (set-elements.ts)', () => {
  it('keys put each concatenated field at a 4-byte boundary, zero-padded, big-endian port', () => {
    assert.deepEqual([...portMapKeyBytes(rule(), true)], [6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
    assert.deepEqual([...portMapKeyBytes(rule({ hostIP: '10.232.0.1', proto: 'udp', hostPort: 53 }), false)], [10, 232, 0, 1, 17, 0, 0, 0, 0, 53, 0, 0]);
    const v6 = portMapKeyBytes(rule({ family: 6, hostIP: 'fd00::1', proto: 'sctp', hostPort: 65535, containerIP: 'fd00::2' }), false);
    assert.equal(v6.length, 24);
    assert.deepEqual([...v6.subarray(16)], [132, 0, 0, 0, 0xff, 0xff, 0, 0]);
  });

  it('an add is one NEWSETELEM per map (CREATE, not EXCL) with key, value and the comment as user data; a delete names keys only', () => {
    const rules = [rule(), rule({ hostPort: 8081, containerPort: 81 })];
    const add = portMapMessages('add', rules);
    assert.deepEqual(add.map((m) => [m.map, m.type, m.flags]), [
      ['pm4any_addr', (10 << 8) | 12, 0x400],
      ['pm4any_port', (10 << 8) | 12, 0x400],
    ]);
    assert.equal(add[0].payload[0], 1); // NFPROTO_INET
    const attrs = parseAttrs(add[1].payload.subarray(4));
    assert.equal(attrs.get(1)?.toString(), 'tsnet\0');
    assert.equal(attrs.get(2)?.toString(), 'pm4any_port\0');
    const elems = parseAttrList(attrs.get(3)!);
    assert.equal(elems.length, 2);
    const second = parseAttrs(elems[1].value);
    assert.deepEqual([...parseAttrs(second.get(1)!).get(1)!], [6, 0, 0, 0, 0x1f, 0x91, 0, 0]);
    assert.deepEqual([...parseAttrs(second.get(2)!).get(1)!], [0, 81]); // the port map's value: 2 bytes
    const udata = second.get(6)!;
    assert.equal(udata[0], 0); // NFTNL_UDATA_SET_ELEM_COMMENT
    assert.equal(udata.subarray(2, 2 + udata[1]).toString(), `tsnet tsn-aaaaaaaaaaa ${'a'.repeat(64)}\0`);
    const addrValue = parseAttrs(parseAttrs(parseAttrList(parseAttrs(add[0].payload.subarray(4)).get(3)!)[0].value).get(2)!).get(1)!;
    assert.deepEqual([...addrValue], [10, 231, 0, 2]);

    const del = portMapMessages('delete', rules);
    assert.deepEqual(del.map((m) => [m.map, m.type, m.flags]), [
      ['pm4any_addr', (10 << 8) | 14, 0],
      ['pm4any_port', (10 << 8) | 14, 0],
    ]);
    const delElem = parseAttrs(parseAttrList(parseAttrs(del[0].payload.subarray(4)).get(3)!)[0].value);
    assert.deepEqual([...delElem.keys()], [1]);
  });

  it('refuses what the maps cannot hold, before any message is built', () => {
    assert.throws(() => portMapMessages('add', [rule({ hostPort: 0 })]), /invalid hostPort 0/);
    assert.throws(() => portMapMessages('add', [rule({ containerIP: 'fd00::2' })]), /containerIP fd00::2 is not IPv4/);
  });
});
