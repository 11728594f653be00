/**
 * The state repository (driver/src/state/repository.ts) alone owns networks and endpoints in
 * memory: the driver's `state` is a read-only view, reconcile, docker-sync and main go through the
 * repository, and the store only persists what it marks.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNetworkRequest } from '@tsnet/shared';
import { StateRepository } from '@tsnet/driver/dist/state/repository';
import { Store } from '@tsnet/driver/dist/state/store';
import { records, type EndpointRecord, type NetworkRecord } from '@tsnet/driver/dist/state/types';
import { Driver } from '@tsnet/driver/dist/core/driver';

const repo = path.join(__dirname, '../../..');
const NET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EP = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';

function network(id: string, recovered = false): NetworkRecord {
  const config = parseNetworkRequest({ NetworkID: id, Options: {}, IPv4Data: [{ Pool: '10.231.253.0/24', Gateway: '10.231.253.1/24' }] });
  return { config, bridgeAdopted: false, createdAt: 'x', endpoints: records(), ...(recovered ? { recovered: true } : {}) };
}

function endpoint(id: string, networkId: string, recovered = false): EndpointRecord {
  return { id, networkId, hostVeth: `tsv${id.slice(0, 11)}`, containerVeth: `tsc${id.slice(0, 11)}`, mac: '', joined: false, ports: [], createdAt: 'x', ...(recovered ? { recovered: true } : {}) };
}

describe('state repository (driver/state/repository)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-repo-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = (kind: string) => fs.readdirSync(path.join(dir, kind)).sort();

  it('looks up by ID (own keys only), across networks, and by a recovered record\'s prefix', () => {
    const store = new Store(dir);
    const r = new StateRepository(store.load().state, store);
    const n = network(NET);
    r.putNetwork(n);
    r.putEndpoint(n, endpoint(EP, NET));
    assert.equal(r.network(NET), n);
    assert.equal(r.network('toString'), undefined, 'never an inherited member');
    assert.equal(r.findEndpoint(EP)?.networkId, NET);
    assert.deepEqual(r.networkIds(), [NET]);
    const rec = network('f00dfeedbee', true);
    r.putNetwork(rec);
    assert.equal(r.recoveredNetworkFor(`f00dfeedbee${'0'.repeat(53)}`), rec);
    assert.equal(r.recoveredNetworkFor(NET), undefined, 'only recovered networks match by prefix');
  });

  it('finds the endpoints holding a link name or an address, through every change (loaded, put, replaced, removed, network removed, IDs completed)', () => {
    const store = new Store(dir);
    const state = store.load().state;
    const loaded = network(NET);
    const first = { ...endpoint(EP, NET), ipv4: '10.231.253.2/24', ipv6: 'fd00:231::2/64' };
    loaded.endpoints[EP] = first;
    state.networks[NET] = loaded;
    const r = new StateRepository(state, store);
    assert.deepEqual(r.endpointsWithLink(first.hostVeth), [first], 'indexed at load');
    assert.deepEqual(r.endpointsWithLink(first.containerVeth), [first]);
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.2'), [first]);
    assert.deepEqual(r.endpointsWithAddress(loaded, 'fd00:231::2'), [first]);
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.3'), []);
    assert.deepEqual(r.endpointsWithLink('toString'), [], 'never an inherited member');

    const other = network('b'.repeat(64));
    r.putNetwork(other);
    assert.deepEqual(r.endpointsWithAddress(other, '10.231.253.2'), [], 'addresses are per network');

    const replaced = { ...first, ipv4: '10.231.253.9/24', ipv6: undefined };
    r.putEndpoint(loaded, replaced);
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.2'), [], 'the replaced record no longer holds its address');
    assert.deepEqual(r.endpointsWithAddress(loaded, 'fd00:231::2'), []);
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.9'), [replaced]);
    assert.deepEqual(r.endpointsWithLink(first.hostVeth), [replaced]);

    // Two records sharing a name (IDs with the same first 11 hex digits): removing one leaves the other.
    const twin = { ...endpoint(`${EP.slice(0, 11)}${'0'.repeat(53)}`, NET), ipv4: '10.231.253.10/24' };
    r.putEndpoint(loaded, twin);
    assert.deepEqual(r.endpointsWithLink(first.hostVeth), [replaced, twin]);
    r.removeEndpoint(loaded, replaced.id);
    assert.deepEqual(r.endpointsWithLink(first.hostVeth), [twin]);
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.9'), []);

    r.removeNetwork(NET);
    assert.deepEqual(r.endpointsWithLink(twin.hostVeth), [], 'a removed network takes its endpoints out');
    assert.deepEqual(r.endpointsWithAddress(loaded, '10.231.253.10'), []);

    const prefix = 'c'.repeat(11);
    const recovered = network(prefix, true);
    const ep = { ...endpoint(EP, prefix, true), ipv4: '10.231.253.4/24' };
    recovered.endpoints[EP] = ep;
    r.putNetwork(recovered);
    assert.deepEqual(r.endpointsWithAddress(recovered, '10.231.253.4'), [ep], 'a put network brings its endpoints');
    r.completeNetworkId(recovered, 'c'.repeat(64));
    assert.equal(recovered.config.id, 'c'.repeat(64));
    assert.deepEqual(r.endpointsWithAddress(recovered, '10.231.253.4'), [ep], 'found under the completed ID');
    r.completeEndpointId(recovered, ep, `${EP.slice(0, 60)}abcd`);
    assert.deepEqual(r.endpointsWithLink(ep.hostVeth), [ep]);
  });

  it('completing a recovered network\'s ID re-keys it and marks both files and its endpoints for the store', async () => {
    const store = new Store(dir);
    const r = new StateRepository(store.load().state, store);
    const prefix = NET.slice(0, 11);
    const n = network(prefix, true);
    r.putNetwork(n);
    r.putEndpoint(n, endpoint(EP, prefix));
    await r.markAllDirty().save();
    assert.deepEqual(files('networks'), [`${prefix}.json`]);
    r.completeNetworkId(n, NET);
    await store.save();
    assert.deepEqual(files('networks'), [`${NET}.json`], 'the prefix file went, the full ID was written');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', `${EP}.json`), 'utf8')).networkId, NET);
    assert.equal(r.network(prefix), undefined);
    assert.equal(r.network(NET), n);
  });

  it('tracks links about to be created, and clears them with the deletions after reconcile', () => {
    const store = new Store(dir);
    const r = new StateRepository(store.load().state, store);
    r.addPendingLink('tsvabc');
    r.addPendingLink('tsvabc');
    assert.deepEqual(r.pendingLinks(), ['tsvabc']);
    assert.ok(r.isPendingLink('tsvabc'));
    r.settlePendingLink('tsvabc');
    assert.ok(!r.isPendingLink('tsvabc'));
    r.addPendingLink('tsvdef');
    r.clearPendingAndDeleting();
    assert.deepEqual([r.pendingLinks(), r.deletingLinks()], [[], []]);
  });

  it('the driver\'s state is a read-only view; reconcile, docker-sync and main change nothing behind the repository', () => {
    const store = new Store(dir);
    const d = new Driver({ store, state: store.load().state } as never);
    assert.throws(() => ((d as unknown as { state: unknown }).state = { networks: {} }), TypeError);
    for (const f of ['driver/src/core/reconcile.ts', 'driver/src/core/docker-sync.ts', 'driver/src/main.ts']) {
      assert.doesNotMatch(fs.readFileSync(path.join(repo, f), 'utf8'), /driver\.state\b|\.state\.(networks|pending|deleting)\b/, f);
    }
    assert.doesNotMatch(fs.readFileSync(path.join(repo, 'driver/src/core/driver.ts'), 'utf8'), /this\.state\.|deps\.state\.networks/);
  });
});
