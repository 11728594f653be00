/** The multi-host fast path's nftables commands (pure): what is written, and that only differences are. */
import * as assert from 'node:assert/strict';
import { addEndpointCommands, broadcastOf, endpointComment, networkComment, parseFastTable, removeEndpointCommands, syncCommands, type FastPathHave, type FastPathWant } from '@tsnet/driver/dist/cluster/fast-path-rules';

const want: FastPathWant = {
  vxlan: 'tsnet-vx',
  vxlanIndex: 7,
  remote: [{ block: '10.60.0.64/26', via: '172.30.250.12' }],
  networks: [{ bridge: 'tsn-a', bridgeIndex: 9, subnet: '10.60.0.0/16', gateway: '10.60.0.1' }],
  endpoints: [{ veth: 'tsvabc', address: '10.60.0.5', subnet: '10.60.0.0/16', gateway: '10.60.0.1' }],
};
const empty = (): FastPathHave => ({ present: false, remote: new Map(), chains: new Map() });
const text = (x: unknown) => JSON.stringify(x);

describe('multi-host fast path rules', () => {
  it('computes a subnet\'s broadcast address', () => {
    assert.equal(broadcastOf('10.60.0.0/16'), '10.60.255.255');
    assert.equal(broadcastOf('10.61.4.0/22'), '10.61.7.255');
    assert.throws(() => broadcastOf('fd00::/64'), /not an IPv4 CIDR/);
  });

  it('writes the table, the map, the tsnet-vx chain and the endpoint chain with the isolation matches', () => {
    const cmds = syncCommands(want, empty());
    const t = text(cmds);
    assert.match(t, /"table":\{"family":"netdev","name":"tsnet-fast"\}/);
    assert.match(t, /"map":\{"family":"netdev","table":"tsnet-fast","name":"remote4","type":"ipv4_addr","map":"ipv4_addr","flags":\["interval"\]\}/);
    assert.match(t, /"elem":\[\[\{"prefix":\{"addr":"10.60.0.64","len":26\}\},"172.30.250.12"\]\]/);
    assert.match(t, /"name":"vx-in","type":"filter","hook":"ingress","prio":0,"dev":"tsnet-vx"/);
    assert.match(t, /"name":"ep-tsvabc","type":"filter","hook":"ingress","prio":0,"dev":"tsvabc"/);
    const ep = cmds.find((c) => (c.add?.rule as { chain?: string })?.chain === 'ep-tsvabc')!.add.rule as { expr: unknown[]; comment: string };
    assert.deepEqual(ep.expr, [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.60.0.5' } },
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '10.60.0.0', len: 16 } } } },
      { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { set: ['10.60.0.1', '10.60.255.255'] } } },
      { counter: null },
      { fwd: { dev: 'tsnet-vx', family: 'ip', addr: { map: { key: { payload: { protocol: 'ip', field: 'daddr' } }, data: '@remote4' } } } },
    ]);
    assert.equal(ep.comment, 'tsnet fast 10.60.0.5 10.60.0.0/16 10.60.0.1 vx=7');
    const vx = cmds.find((c) => (c.add?.rule as { chain?: string })?.chain === 'vx-in')!.add.rule as { expr: unknown[] };
    assert.deepEqual(vx.expr.slice(0, 2), [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.60.0.0', len: 16 } } } },
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: { prefix: { addr: '10.60.0.0', len: 16 } } } },
    ]);
    assert.deepEqual(vx.expr[4], { fwd: { dev: 'tsn-a', family: 'ip', addr: { payload: { protocol: 'ip', field: 'daddr' } } } });
  });

  it('writes nothing when the listed table matches, and only what differs otherwise', () => {
    const have: FastPathHave = {
      present: true,
      remote: new Map([['10.60.0.64/26', '172.30.250.12']]),
      chains: new Map([
        ['vx-in', [networkComment(want.networks[0])]],
        ['ep-tsvabc', [endpointComment(want.endpoints[0], 7)]],
      ]),
    };
    assert.deepEqual(syncCommands(want, have), []);
    // A host gone: only the map is written; a stale endpoint chain is deleted; a new ifindex rewrites the chain.
    const t = text(syncCommands({ ...want, remote: [], vxlanIndex: 8 }, { ...have, chains: new Map([...have.chains, ['ep-tsvold', ['x']]]) }));
    assert.match(t, /"delete":\{"element":\{"family":"netdev","table":"tsnet-fast","name":"remote4","elem":\[\[\{"prefix":\{"addr":"10.60.0.64","len":26\}\},"172.30.250.12"\]\]\}\}/);
    assert.doesNotMatch(t, /"add":\{"element"/);
    assert.doesNotMatch(t, /"flush":\{"map"/);
    // A block that moved to another host: its element is deleted and added again, the others stay.
    const moved = text(syncCommands({ ...want, remote: [{ block: '10.60.0.64/26', via: '172.30.250.13' }] }, have));
    assert.match(moved, /"delete":\{"element".*"172.30.250.12".*"add":\{"element".*"172.30.250.13"/);
    assert.match(t, /"delete":\{"chain":\{"family":"netdev","table":"tsnet-fast","name":"ep-tsvold"\}\}/);
    assert.match(t, /vx=8/);
    assert.doesNotMatch(t, /"chain":"vx-in"/, 'the tsnet-vx chain is right and stays');
  });

  it('parses a listing (prefix and single-address elements, chains, rule comments)', () => {
    const have = parseFastTable([
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'netdev', name: 'tsnet-fast', handle: 1 } },
      { map: { family: 'netdev', table: 'tsnet-fast', name: 'remote4', elem: [[{ prefix: { addr: '10.60.0.64', len: 26 } }, '172.30.250.12'], ['10.60.9.9', '172.30.250.13']] } },
      { chain: { family: 'netdev', table: 'tsnet-fast', name: 'ep-x' } },
      { rule: { family: 'netdev', table: 'tsnet-fast', chain: 'ep-x', comment: 'c1' } },
      { rule: { family: 'inet', table: 'tsnet', chain: 'ep-x', comment: 'not ours' } },
    ]);
    assert.equal(have.present, true);
    assert.deepEqual([...have.remote], [['10.60.0.64/26', '172.30.250.12'], ['10.60.9.9/32', '172.30.250.13']]);
    assert.deepEqual([...have.chains], [['ep-x', ['c1']]]);
  });

  it('adds and removes one endpoint\'s chain idempotently (add, flush, rule / add, flush, delete)', () => {
    const add = text(addEndpointCommands(want.endpoints[0], 'tsnet-vx', 7));
    assert.match(add, /"flush":\{"chain":\{"family":"netdev","table":"tsnet-fast","name":"ep-tsvabc"\}\}/);
    const rm = removeEndpointCommands('tsvabc').map((c) => Object.keys(c)[0]);
    assert.deepEqual(rm.slice(-3), ['add', 'flush', 'delete']);
  });
});
