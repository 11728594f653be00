/**
 * Issue 13, items 3, 5, 11 and 13 at unit level: the store with IDs named after Object.prototype
 * members, unstorable IDs, journal compaction, symbolic links and the state directory's mode;
 * the cap on IPAM pools and the sorted overlap check; MAC addresses; escaping in the CLI.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_POOLS_PER_FAMILY, OptionError, assertNoOverlapWithin, cidrsOverlap, macProblem, parseCidr, parseNetworkRequest, type SubnetConfig } from '@tsnet/shared';
import { JOURNAL_COMPACT_AFTER, Store, UnstorableIdError } from '@tsnet/driver/dist/state/store';
import { records, type EndpointRecord, type NetworkRecord, type StateDocument } from '@tsnet/driver/dist/state/types';
import { formatInspect, printable, table } from '@tsnet/driver/dist/cli/format';
import { json } from '@tsnet/driver/dist/cli/tsnet';
import type { InspectReport } from '@tsnet/driver/dist/cli/inspect';

export const PROTOTYPE_IDS = ['toString', 'valueOf', 'hasOwnProperty', '__proto__', 'constructor'];

const net = (id: string) => ({ config: { id, bridge: `tsn-${id}`.slice(0, 15), ipv4: [], ipv6Subnets: [] }, bridgeAdopted: false, createdAt: 'x', endpoints: records() }) as never as NetworkRecord;
const ep = (id: string, networkId: string) => ({ id, networkId, hostVeth: `tsv${id.slice(0, 11)}`, containerVeth: `tsc${id.slice(0, 11)}`, mac: '', joined: false, ports: [], createdAt: 'x' }) as EndpointRecord;

describe('store: IDs that are names of Object.prototype members (issue 13 item 3)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-proto-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('saves, reloads and deletes endpoints and networks named toString, valueOf, hasOwnProperty, __proto__, constructor', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    for (const id of PROTOTYPE_IDS) {
      state.networks[id] = net(id);
      state.networks[id].endpoints[id] = ep(id, id);
      s.markNetworkDirty(id).markEndpointDirty(id);
    }
    await s.save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')).sort(), PROTOTYPE_IDS.map((i) => `${i}.json`).sort());
    const back = new Store(dir).load();
    assert.deepEqual(back.problems, []);
    assert.deepEqual(Object.keys(back.state.networks).sort(), [...PROTOTYPE_IDS].sort());
    for (const id of PROTOTYPE_IDS) {
      assert.ok(Object.hasOwn(back.state.networks, id), id);
      assert.equal(back.state.networks[id].config.id, id);
      assert.deepEqual(Object.keys(back.state.networks[id].endpoints), [id]);
    }
    assert.equal(Object.getPrototypeOf(back.state.networks), null, 'the network container has no prototype');
    for (const id of PROTOTYPE_IDS) {
      delete state.networks[id].endpoints[id];
      s.markEndpointDirty(id);
    }
    await s.save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')), []);
  });

  it('a deleted "toString" endpoint in an ordinary object does not poison later saves', async () => {
    // The shape the store got before: plain objects, so n.endpoints.toString is inherited.
    const s = new Store(dir);
    s.load();
    const state = { version: 1, networks: { n1: { ...net('n1'), endpoints: {} } } } as unknown as StateDocument;
    s.bind(() => state);
    await s.markEndpointDirty('toString').markEndpointDirty('valueOf').markEndpointDirty('hasOwnProperty').save();
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    await s.markEndpointDirty('e1').save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')), ['e1.json']);
  });

  it('never re-queues an ID that can never name a file: the next save succeeds', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    await assert.rejects(s.markNetworkDirty('lab+1').save(), (e: Error) => e instanceof UnstorableIdError && /"lab\+1".*not saved/.test(e.message));
    await s.markNetworkDirty('n1').save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'networks')), ['n1.json']);
  });

  it('re-queues a key whose write failed for a passing reason, and writes it with the next save', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n2 = net('n2');
    // A directory where the temporary file goes: the write of n1 fails, n2 is written.
    fs.mkdirSync(path.join(dir, 'networks', 'n1.json.tmp', 'x'), { recursive: true });
    await assert.rejects(s.markNetworkDirty('n1').markNetworkDirty('n2').save());
    assert.deepEqual(fs.readdirSync(path.join(dir, 'networks')).filter((f) => f.endsWith('.json')), ['n2.json']);
    fs.rmSync(path.join(dir, 'networks', 'n1.json.tmp'), { recursive: true });
    await s.save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'networks')).sort(), ['n1.json', 'n2.json']);
  });
});

describe('store: files and directories (issue 13 item 13)', () => {
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-fs-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-victim-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('never writes through a symbolic link planted at a temporary file name', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, 'networks', 'n1.json.tmp'));
    fs.symlinkSync(victim, path.join(dir, 'journal.log.tmp'));
    state.networks.n1 = net('n1');
    await s.markNetworkDirty('n1').save();
    await s.clearJournal();
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'networks', 'n1.json'), 'utf8')).config.id, 'n1');
    assert.ok(!fs.lstatSync(path.join(dir, 'networks', 'n1.json')).isSymbolicLink());
  });

  it('never appends to a journal that is a symbolic link, nor reads one', async () => {
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, '+tsvvictim\n');
    const s0 = new Store(dir);
    s0.load();
    fs.symlinkSync(victim, path.join(dir, 'journal.log'));
    const r = new Store(dir).load();
    assert.deepEqual(r.state.pending, undefined, 'a linked journal was read');
    assert.match(r.problems.join('\n'), /journal\.log: is a symbolic link/);
    fs.symlinkSync(victim, path.join(dir, 'journal.log'));
    const s = new Store(dir);
    s.bind(() => ({ version: 1, networks: records() }));
    await assert.rejects(s.journal('tsvabc'), /ELOOP|symbolic/i);
    assert.equal(fs.readFileSync(victim, 'utf8'), '+tsvvictim\n');
  });

  it('does not follow a record that is a symbolic link, nor show what it points at', () => {
    const secret = path.join(outside, 'secret');
    fs.writeFileSync(secret, 'root:SECRETHASH:19000:0:99999:7:::\n');
    new Store(dir).load();
    fs.symlinkSync(secret, path.join(dir, 'networks', 'n1.json'));
    const r = new Store(dir).load();
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0], /is a symbolic link/);
    assert.doesNotMatch(r.problems.join(), /SECRETHASH/);
  });

  it('enforces mode 0700 on an existing state directory and its subdirectories, and says so', () => {
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'networks'), { mode: 0o777 });
    fs.chmodSync(path.join(dir, 'networks'), 0o777);
    const r = new Store(dir).load();
    for (const d of [dir, path.join(dir, 'networks'), path.join(dir, 'endpoints')]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
    assert.equal(r.corrected.length, 2);
    assert.match(r.corrected.join('\n'), /had mode 0755; set to 0700/);
    assert.match(r.corrected.join('\n'), /networks had mode 0777; set to 0700/);
    assert.deepEqual(new Store(dir).load().corrected, [], 'nothing to correct the second time');
  });

  it('refuses a subdirectory that is a symbolic link, naming it', () => {
    fs.symlinkSync(outside, path.join(dir, 'endpoints'));
    assert.throws(() => new Store(dir).load(), /endpoints is not a directory \(it is a symbolic link\)/);
  });

  it('refuses a state directory owned by another user, naming the fix', function () {
    if (process.getuid?.() !== 0) throw new Error('missing prerequisite: root (to chown a directory); run the unit tests as root');
    fs.chownSync(dir, 65534, 65534);
    assert.throws(() => new Store(dir).load(), /belongs to uid 65534, not to the driver's user \(uid 0\).*chown/);
  });

  it('compacts the journal while running: only names still pending are kept', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    state.pending = [];
    s.bind(() => state);
    const total = JOURNAL_COMPACT_AFTER * 2 + 10;
    for (let i = 0; i < total; i++) {
      const name = `tsv${i.toString(16).padStart(8, '0')}`;
      state.pending.push(name);
      await s.journal(name);
      // Every name but each 100th is settled (its record is on disk) right after creation.
      if (i % 100 !== 0) state.pending = state.pending.filter((n) => n !== name);
    }
    await s.close();
    const lines = fs.readFileSync(path.join(dir, 'journal.log'), 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.length < JOURNAL_COMPACT_AFTER, `${lines.length} lines after ${total} appends`);
    assert.ok(s.journalLength < JOURNAL_COMPACT_AFTER);
    const kept = new Store(dir).load().state.pending ?? [];
    const unsettled = Array.from({ length: total }, (_, i) => i).filter((i) => i % 100 === 0).map((i) => `tsv${i.toString(16).padStart(8, '0')}`);
    for (const n of unsettled) assert.ok(kept.includes(n), `${n} (still pending) was dropped`);
    assert.ok(kept.length <= unsettled.length + JOURNAL_COMPACT_AFTER, `${kept.length} names kept`);
  });
});

describe('IPAM pools: a cap and an O(n log n) overlap check (issue 13 item 5)', () => {
  const ID = 'fccef00992a21a67e4fc3514027921f7e2ae75a9a7a41ecebde404c2783e0f10';
  const pools = (n: number, family: 4 | 6 = 4) =>
    Array.from({ length: n }, (_, i) => (family === 4 ? { Pool: `10.${(i >> 8) & 255}.${i & 255}.0/24`, Gateway: `10.${(i >> 8) & 255}.${i & 255}.1/24` } : { Pool: `fd00:${i.toString(16)}::/64`, Gateway: `fd00:${i.toString(16)}::1/64` }));

  it('refuses 10,000 IPv4 pools with an error naming the field, the count and the limit', () => {
    assert.throws(
      () => parseNetworkRequest({ NetworkID: ID, Options: {}, IPv4Data: pools(10_000) }),
      (e: Error) => e instanceof OptionError && e.message === `IPv4Data has 10000 pools; tsnet accepts at most ${MAX_POOLS_PER_FAMILY} IPv4 subnets per network (one per --subnet)`,
    );
  });

  it('refuses 10,000 IPv6 pools the same way', () => {
    assert.throws(() => parseNetworkRequest({ NetworkID: ID, Options: {}, IPv4Data: pools(1), IPv6Data: pools(10_000, 6) }), /IPv6Data has 10000 pools; tsnet accepts at most 16 IPv6 subnets/);
  });

  it(`accepts ${MAX_POOLS_PER_FAMILY} pools per family and refuses one more`, () => {
    const c = parseNetworkRequest({ NetworkID: ID, Options: {}, IPv4Data: pools(MAX_POOLS_PER_FAMILY), IPv6Data: pools(MAX_POOLS_PER_FAMILY, 6) });
    assert.equal(c.ipv4.length, MAX_POOLS_PER_FAMILY);
    assert.equal(c.ipv6Subnets.length, MAX_POOLS_PER_FAMILY);
    assert.throws(() => parseNetworkRequest({ NetworkID: ID, Options: {}, IPv4Data: pools(MAX_POOLS_PER_FAMILY + 1) }), /IPv4Data has 17 pools/);
  });

  const sub = (cidr: string): SubnetConfig => {
    const pool = parseCidr(cidr)!;
    return { family: pool.family, pool: parseCidr(`${pool.network}/${pool.prefixLength}`)!, gateway: pool.network, auxAddresses: {} };
  };

  it('finds nested, equal and far-apart overlaps, and none between neighbours or families', () => {
    const overlaps = (xs: string[]) => {
      try {
        assertNoOverlapWithin(xs.map(sub));
        return undefined;
      } catch (e) {
        return (e as Error).message;
      }
    };
    assert.equal(overlaps(['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/23', 'fd00::/64', '10.9.0.0/24']), undefined);
    assert.equal(overlaps(['10.0.0.0/24', '10.0.0.0/24']), 'subnets 10.0.0.0/24 and 10.0.0.0/24 overlap');
    assert.equal(overlaps(['10.5.0.0/24', '10.0.0.0/8']), 'subnets 10.0.0.0/8 and 10.5.0.0/24 overlap');
    // A wide prefix first, then a disjoint one, then one inside the wide one: not adjacent after sorting.
    assert.equal(overlaps(['10.0.0.0/8', '10.1.0.0/16', '10.200.0.0/16'].reverse()), 'subnets 10.0.0.0/8 and 10.1.0.0/16 overlap');
    assert.equal(overlaps(['10.1.0.0/24', '10.0.9.0/24', '10.0.0.0/16']), 'subnets 10.0.0.0/16 and 10.0.9.0/24 overlap');
    assert.equal(overlaps(['fd00::/48', 'fd00:0:0:1::/64']), 'subnets fd00::/48 and fd00:0:0:1::/64 overlap');
    assert.equal(overlaps(['0.0.0.0/1', '128.0.0.0/1', '255.255.255.0/24']), 'subnets 128.0.0.0/1 and 255.255.255.0/24 overlap');
    assert.equal(overlaps(['10.0.0.0/24', 'fd00::/8', '::ffff:10.0.0.0/120']), undefined, 'IPv4 and IPv6 never overlap');
  });

  it('agrees with the pairwise check on 2,000 random sets', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const xs = Array.from({ length: 2 + rnd(8) }, () => {
        if (rnd(4) === 0) return sub(`fd00:${rnd(4).toString(16)}::/${48 + rnd(3) * 8}`);
        return sub(`10.${rnd(4)}.${rnd(4) * 64}.0/${14 + rnd(12)}`);
      });
      let pairwise = false;
      for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) if (cidrsOverlap(xs[i].pool, xs[j].pool)) pairwise = true;
      let sorted = false;
      try {
        assertNoOverlapWithin(xs);
      } catch {
        sorted = true;
      }
      assert.equal(sorted, pairwise, xs.map((x) => `${x.pool.network}/${x.pool.prefixLength}`).join(' '));
    }
  });
});

describe('MAC addresses (issue 13 item 13)', () => {
  it('refuses multicast, broadcast and all-zero addresses, and malformed ones, saying why', () => {
    assert.equal(macProblem('02:42:0a:00:00:02'), undefined);
    assert.equal(macProblem('00:16:3e:aa:bb:cc'), undefined);
    assert.equal(macProblem('01:00:5e:00:00:01'), 'is a multicast address (the lowest bit of the first byte is set)');
    assert.equal(macProblem('33:33:00:00:00:01'), 'is a multicast address (the lowest bit of the first byte is set)');
    assert.equal(macProblem('ff:ff:ff:ff:ff:ff'), 'is the broadcast address');
    assert.equal(macProblem('00:00:00:00:00:00'), 'is all zeros');
    assert.equal(macProblem('02:42:0a:00:00'), 'is not six hex pairs separated by ":"');
  });
});

describe('tsnet CLI escaping (issue 13 item 11)', () => {
  const ESC = '\x1b';
  const evil = `${ESC}[31mx${ESC}]0;t\x07`;

  it('escapes control characters, DEL, C1, bidi overrides and the backslash', () => {
    assert.equal(printable(evil), '\\x1b[31mx\\x1b]0;t\\x07');
    assert.equal(printable('a\\b'), 'a\\\\b');
    assert.equal(printable('\x7f\x9b\u202e\u2028ok'), '\\x7f\\x9b\\u202e\\u2028ok');
    assert.equal(printable('eth0 tsv_1-2.x ünï'), 'eth0 tsv_1-2.x ünï', 'ordinary names are unchanged');
  });

  it('every table cell is escaped and the columns stay aligned', () => {
    const t = table(['NAME', 'STATE'], [[evil, 'up'], ['eth0', 'down']]);
    assert.ok(![...t].some((ch) => (ch < " " && ch !== "\n") || ch === "\x7f"), JSON.stringify(t));
    const [, a, b] = t.split('\n');
    assert.equal(a.indexOf('up'), b.indexOf('down'));
  });

  it('tsnet inspect escapes interface names, container names, paths and notes; --json escapes C1 and bidi too', () => {
    const report: InspectReport = {
      container: { id: 'a'.repeat(64), name: `c${ESC}[2J`, pid: 1, networkMode: 'default', sandboxKey: `/var/run/docker/netns/${ESC}x` },
      namespace: { path: '/proc/1/ns/net', inode: 4026531840 },
      sharedWith: [{ id: 'a'.repeat(64), name: `c${ESC}[2J`, relation: 'owner', networkMode: 'default', self: true }],
      interfaces: [{ index: 2, name: evil, mtu: 1500, state: 'up', addresses: ['10.0.0.2/24'], host: { veth: `v${ESC}`, vethIndex: 9, bridge: `b${ESC}` } }],
      routes: [{ family: 4, dst: '0.0.0.0/0', gateway: '10.0.0.1', dev: evil }],
      sockets: [],
      peers: [{ address: '10.60.1.2', interface: evil, where: 'remote', remote: { network: `n${ESC}`, host: '192.0.2.12', hostname: `h${ESC}[2J`, vtepMac: '02:74:c0:00:02:0c', via: 'tsnet-vx', blocks: ['10.60.1.0/26'], block: '10.60.1.0/26' } }],
      remoteHosts: [{ network: `n${ESC}`, host: '192.0.2.12', hostname: `h${ESC}[2J`, vtepMac: '02:74:c0:00:02:0c', via: 'tsnet-vx', blocks: ['10.60.1.0/26'] }],
      notes: [`note ${ESC}[1m`],
    };
    const text = formatInspect(report);
    assert.ok(!text.includes(ESC) && !text.includes('\x07'), JSON.stringify(text));
    assert.match(text, /\\x1b\[31mx\\x1b\]0;t\\x07/);
    const j = json({ name: '\x9b31m\u202e' });
    assert.equal(j, '{\n  "name": "\\u009b31m\\u202e"\n}');
    assert.equal(JSON.parse(j).name, '\x9b31m\u202e', 'still the same JSON value');
  });
});
