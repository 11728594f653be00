/**
 * Golden-file tests of the pure nftables JSON generator (driver/src/firewall/rules.ts).
 * `UPDATE_GOLDEN=1 npx mocha test/dist/unit/firewall-rules.test.js` rewrites test/golden/firewall/.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  addPortMapCommands,
  applyNetworkCommands,
  describeNetwork,
  emptySnapshot,
  parseListOutput,
  portMapsInSnapshot,
  programmedBridges,
  removeAllCommands,
  removeNetworkCommands,
  removePortMapCommands,
  skeletonCommands,
  type Json,
  type Snapshot,
} from '@tsnet/driver/dist/firewall/rules';
import type { FirewallNetwork, PortMapRule } from '@tsnet/driver/dist/firewall/types';

const GOLDEN = path.resolve(__dirname, '../../golden/firewall');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: unknown): void {
  const file = path.join(GOLDEN, `${name}.json`);
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (UPDATE || !fs.existsSync(file)) {
    if (!UPDATE && process.env.CI === 'true') assert.fail(`golden file ${file} missing (run with UPDATE_GOLDEN=1)`);
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(fs.readFileSync(file, 'utf8')), `differs from ${file} (UPDATE_GOLDEN=1 to accept)`);
}

const ID = '3f1c9a7e5b2d4c6a8e0f1b3d5a7c9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d';
const BR = 'tsn-3f1c9a7e5b2';
const v4 = { family: 4 as const, cidr: '10.231.0.0/24', gateway: '10.231.0.1' };
const v6 = { family: 6 as const, cidr: 'fd00:231::/64', gateway: 'fd00:231::1' };
const base: FirewallNetwork = { id: ID, bridge: BR, subnets: [v4], icc: true, masquerade: true, internal: false };

function withDockerUser(...fams: Array<'ip' | 'ip6'>): Snapshot {
  const s = emptySnapshot();
  s.tableExists = true;
  for (const f of fams) s.dockerUser.add(f);
  return s;
}

const pm = (over: Partial<PortMapRule>): PortMapRule => ({
  networkId: ID,
  bridge: BR,
  proto: 'tcp',
  family: 4,
  hostIP: '0.0.0.0',
  hostPort: 8080,
  containerIP: '10.231.0.2',
  containerPort: 80,
  ...over,
});

/** What nft prints for a snapshot with this network programmed (captured from nft 1.0.6 -j). */
const LISTED: Json[] = [
  { map: { family: 'inet', name: 'fwd_in', table: 'tsnet', type: 'ifname', handle: 1, map: 'verdict', elem: [[BR, { jump: { target: `in-${BR}` } }], ['tsn-other', { jump: { target: 'in-tsn-other' } }]] } },
  { map: { family: 'inet', name: 'fwd_out', table: 'tsnet', type: 'ifname', handle: 2, map: 'verdict', elem: [[BR, { jump: { target: `out-${BR}` } }]] } },
  { map: { family: 'inet', name: 'post_out', table: 'tsnet', type: 'ifname', handle: 3, map: 'verdict', elem: [[BR, { jump: { target: `post-${BR}` } }]] } },
  { map: { family: 'inet', name: 'masq4', table: 'tsnet', type: 'ipv4_addr', handle: 4, map: 'verdict', flags: ['interval'], elem: [[{ prefix: { addr: '10.231.0.0', len: 24 } }, { jump: { target: `masq-${BR}` } }], [{ prefix: { addr: '10.9.0.0', len: 16 } }, { jump: { target: 'masq-tsn-other' } }]] } },
  { map: { family: 'inet', name: 'pm4any_addr', table: 'tsnet', type: ['inet_proto', 'inet_service'], handle: 7, map: 'ipv4_addr', elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: `tsnet ${BR} ${ID}` } }, '10.231.0.2'], [{ elem: { val: { concat: ['udp', 53] }, comment: `tsnet tsn-other ${'b'.repeat(64)}` } }, '10.9.0.2']] } },
  { map: { family: 'inet', name: 'pm4any_port', table: 'tsnet', type: ['inet_proto', 'inet_service'], handle: 8, map: 'inet_service', elem: [[{ elem: { val: { concat: ['tcp', 8080] }, comment: `tsnet ${BR} ${ID}` } }, 80], [{ elem: { val: { concat: ['udp', 53] }, comment: `tsnet tsn-other ${'b'.repeat(64)}` } }, 53]] } },
  { map: { family: 'inet', name: 'pm6_addr', table: 'tsnet', type: ['ipv6_addr', 'inet_proto', 'inet_service'], handle: 9, map: 'ipv6_addr', elem: [[{ elem: { val: { concat: ['fd00::1', 'sctp', 9000] }, comment: `tsnet ${BR} ${ID}` } }, 'fd00:231::2']] } },
  { map: { family: 'inet', name: 'pm6_port', table: 'tsnet', type: ['ipv6_addr', 'inet_proto', 'inet_service'], handle: 10, map: 'inet_service', elem: [[{ elem: { val: { concat: ['fd00::1', 'sctp', 9000] }, comment: `tsnet ${BR} ${ID}` } }, 9001]] } },
  { chain: { family: 'ip', table: 'filter', name: 'DOCKER-USER', handle: 1 } },
  { rule: { family: 'ip', table: 'filter', chain: 'DOCKER-USER', handle: 6, comment: 'tsnet', expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: BR } }, { counter: { packets: 0, bytes: 0 } }, { accept: null }] } },
  { rule: { family: 'ip', table: 'filter', chain: 'DOCKER-USER', handle: 5, comment: 'tsnet', expr: [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: BR } }, { counter: { packets: 0, bytes: 0 } }, { accept: null }] } },
  { rule: { family: 'ip', table: 'filter', chain: 'DOCKER-USER', handle: 7, expr: [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth9' } }, { xt: { type: 'match', name: 'comment' } }, { accept: null }] } },
  { rule: { family: 'ip', table: 'filter', chain: 'DOCKER-USER', handle: 4, expr: [{ counter: { packets: 0, bytes: 0 } }, { return: null }] } },
];

describe('firewall rules (pure JSON generator, golden files)', () => {
  it('skeleton: table, maps, static base chains', () => golden('skeleton', skeletonCommands()));
  it('skeleton with etcd (cluster): also the raw-priority chain of multi-host networks', () => golden('skeleton-cluster', skeletonCommands({ cluster: true })));

  const combos: Array<[string, FirewallNetwork, Array<'ip' | 'ip6'>]> = [
    ['net-icc-on-masq-on', base, ['ip']],
    ['net-icc-off', { ...base, icc: false }, ['ip']],
    ['net-masq-off', { ...base, masquerade: false }, ['ip']],
    ['net-internal', { ...base, internal: true }, ['ip']],
    ['net-internal-icc-off', { ...base, internal: true, icc: false }, ['ip']],
    ['net-dual-stack', { ...base, subnets: [v4, v6] }, ['ip', 'ip6']],
    ['net-no-docker', base, []],
    ['net-cluster', { ...base, clusterDevice: 'tsnet-vx' }, ['ip']],
    ['net-cluster-internal-icc-off', { ...base, clusterDevice: 'tsnet-vx', internal: true, icc: false }, ['ip']],
  ];
  for (const [name, net, fams] of combos) {
    it(`applyNetwork ${name}`, () => golden(name, applyNetworkCommands(net, withDockerUser(...fams))));
  }

  it('multi-host: only container-to-container traffic of the subnet on the bridge or the VXLAN link skips conntrack, never traffic to the gateway', () => {
    type Cmd = { add?: { rule?: { chain: string; expr: Json[] }; element?: { name: string; elem: Json[] } } };
    const cmdsOf = (net: FirewallNetwork) => applyNetworkCommands(net, withDockerUser('ip')) as Cmd[];
    const rulesOf = (net: FirewallNetwork, chain: string) => cmdsOf(net).filter((c) => c.add?.rule?.chain === chain).map((c) => c.add!.rule!.expr);
    const elementsOf = (net: FirewallNetwork, map: string) => cmdsOf(net).filter((c) => c.add?.element?.name === map).flatMap((c) => c.add!.element!.elem);
    const cluster = { ...base, clusterDevice: 'tsnet-vx' };
    assert.deepEqual(rulesOf(cluster, `notrack-${BR}`), [
      [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: { set: [BR, 'tsnet-vx'] } } },
        { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '10.231.0.0', len: 24 } } } },
        { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '10.231.0.1' } },
        { notrack: null },
      ],
    ]);
    // Reached only from the network's own source subnet.
    assert.deepEqual(elementsOf(cluster, 'notrack4'), [[{ prefix: { addr: '10.231.0.0', len: 24 } }, { jump: { target: `notrack-${BR}` } }]]);
    // A local network: the chain exists but is empty and nothing dispatches to it.
    assert.deepEqual(rulesOf(base, `notrack-${BR}`), []);
    assert.deepEqual(elementsOf(base, 'notrack4'), []);
    // The raw-priority chain (before conntrack at -200) dispatches only in cluster mode; without etcd it is removed.
    type SkelCmd = { add?: { chain?: { name: string; prio?: number }; rule?: { chain: string } }; delete?: { chain?: { name: string } } };
    const skel = (cluster: boolean) => skeletonCommands({ cluster }) as SkelCmd[];
    assert.ok(skel(true).some((c) => c.add?.chain?.name === 'prerouting_raw' && c.add.chain.prio === -300));
    assert.equal(skel(true).filter((c) => c.add?.rule?.chain === 'prerouting_raw').length, 1);
    assert.equal(skel(false).filter((c) => c.add?.rule?.chain === 'prerouting_raw').length, 0);
    assert.ok(skel(false).some((c) => c.delete?.chain?.name === 'prerouting_raw'), 'without etcd the chain is removed');
  });

  it('applyNetwork is a no-op for elements and DOCKER-USER already in place', () => {
    const s = parseListOutput(LISTED);
    const cmds = applyNetworkCommands(base, s);
    const json = JSON.stringify(cmds);
    assert.ok(!json.includes('"insert"'), 'no DOCKER-USER insert when both rules exist');
    assert.ok(!json.includes('"delete"'), 'nothing deleted');
    golden('net-reapply', cmds);
  });

  it('applyNetwork replaces: masquerade turned off, internal, half-present DOCKER-USER', () => {
    const s = parseListOutput(LISTED.filter((i) => !(JSON.stringify(i).includes('"handle":5'))));
    golden('net-replace-internal', applyNetworkCommands({ ...base, internal: true, masquerade: false }, s));
  });

  it('removeNetwork deletes only that network (elements, port maps, chains, DOCKER-USER by handle)', () => {
    const cmds = removeNetworkCommands(base, parseListOutput(LISTED));
    const json = JSON.stringify(cmds);
    assert.ok(!json.includes('tsn-other') && !json.includes('"handle":7') && !json.includes('"handle":4'));
    golden('net-remove', cmds);
  });

  it('removeNetwork with nothing programmed does nothing', () => {
    assert.deepEqual(removeNetworkCommands(base, emptySnapshot()), []);
  });

  it('removeAll deletes the table and only tsnet DOCKER-USER rules', () => golden('remove-all', removeAllCommands(parseListOutput(LISTED))));

  it('port maps: v4 every address, v4 specific address, v6, udp/sctp', () => {
    golden('portmaps-add', addPortMapCommands([
      pm({}),
      pm({ hostIP: '192.0.2.10', hostPort: 8443, containerPort: 443 }),
      pm({ proto: 'udp', hostPort: 5353, containerPort: 53 }),
      pm({ family: 6, hostIP: '::', hostPort: 8080, containerIP: 'fd00:231::2' }),
      pm({ family: 6, hostIP: 'FD00:0:0::1', proto: 'sctp', hostPort: 9000, containerIP: 'fd00:231::2', containerPort: 9001 }),
    ]));
    golden('portmaps-remove', removePortMapCommands([pm({}), pm({ family: 6, hostIP: 'fd00::1', proto: 'sctp', hostPort: 9000, containerIP: 'fd00:231::2' })]));
  });

  it('port maps reject bad input', () => {
    assert.throws(() => addPortMapCommands([pm({ hostPort: 0 })]), /hostPort/);
    assert.throws(() => addPortMapCommands([pm({ containerIP: 'fd00::2' })]), /containerIP/);
    assert.throws(() => addPortMapCommands([pm({ hostIP: '::1' })]), /hostIP/);
    assert.throws(() => addPortMapCommands([pm({ proto: 'icmp' as 'tcp' })]), /protocol/);
  });

  it('networks reject bad input', () => {
    assert.throws(() => applyNetworkCommands({ ...base, bridge: 'tsn-0123456789ab' }, emptySnapshot()), /bridge/);
    assert.throws(() => applyNetworkCommands({ ...base, subnets: [{ family: 4, cidr: 'fd00::/64', gateway: '' }] }, emptySnapshot()), /subnet/);
  });

  it('reads port maps and bridges back from list output', () => {
    const s = parseListOutput(LISTED);
    assert.deepEqual(programmedBridges(s), [BR, 'tsn-other'].sort());
    const maps = portMapsInSnapshot(s);
    assert.deepEqual(maps, [
      pm({}),
      pm({ proto: 'udp', hostPort: 53, containerIP: '10.9.0.2', containerPort: 53, bridge: 'tsn-other', networkId: 'b'.repeat(64) }),
      pm({ family: 6, hostIP: 'fd00::1', proto: 'sctp', hostPort: 9000, containerIP: 'fd00:231::2', containerPort: 9001 }),
    ]);
    assert.deepEqual(s.userRules.map((r) => [r.handle, r.dir, r.ifname]), [[6, 'iifname', BR], [5, 'oifname', BR]]);
  });

  it('describe() gives readable lines for each option', () => {
    const lines = describeNetwork({ ...base, icc: false, subnets: [v4, v6] }, 'nftables', ['ip']).join('\n');
    assert.match(lines, /masquerade: 10\.231\.0\.0\/24, fd00:231::\/64/);
    assert.match(lines, /icc: off/);
    assert.match(lines, /DOCKER-USER \(ip\): iifname tsn-3f1c9a7e5b2 accept/);
    assert.match(describeNetwork({ ...base, internal: true }, 'nftables', []).join('\n'), /internal: .* dropped/);
    assert.match(describeNetwork(base, 'iptables-legacy', []).join('\n'), /iptables-legacy/);
    const cluster = describeNetwork({ ...base, clusterDevice: 'tsnet-vx' }, 'nftables', ['ip']).join('\n');
    assert.match(cluster, /traffic of 10\.231\.0\.0\/24 on tsn-3f1c9a7e5b2 and tsnet-vx \(not to the gateway\) skips conntrack/);
    assert.doesNotMatch(describeNetwork(base, 'nftables', ['ip']).join('\n'), /conntrack|multi-host/);
  });
});
