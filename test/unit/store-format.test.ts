/**
 * The store's files have their own types and a format version (driver/src/state/files.ts):
 * files written by an older tsnet (format 1, no `format` field) are read and written back in the
 * current format; a file of a newer format is set aside with a message saying so; only the
 * file's own fields reach the disk.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNetworkRequest } from '@tsnet/shared';
import { STORE_FORMAT } from '@tsnet/driver/dist/state/files';
import { Store } from '@tsnet/driver/dist/state/store';
import type { EndpointRecord, NetworkRecord } from '@tsnet/driver/dist/state/types';

const NET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EP = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';

/** A network and an endpoint file exactly as tsnet wrote them before files had a format. */
function formatOneFiles(): { network: Record<string, unknown>; endpoint: Record<string, unknown> } {
  const config = parseNetworkRequest({ NetworkID: NET, Options: { 'com.docker.network.generic': { 'com.docker.network.driver.mtu': '1400' } }, IPv4Data: [{ Pool: '10.231.252.0/24', Gateway: '10.231.252.1/24' }] });
  return {
    network: JSON.parse(JSON.stringify({ config, bridgeAdopted: false, createdAt: '2026-11-30T10:00:00.000Z', endpoints: undefined, addedAddresses: [] })),
    endpoint: {
      id: EP,
      networkId: NET,
      hostVeth: 'tsve0e1e2e3e4e',
      containerVeth: 'tsce0e1e2e3e4e',
      mac: '02:42:0a:e7:fc:02',
      ipv4: '10.231.252.2/24',
      joined: true,
      sandboxKey: '/var/run/docker/netns/abc',
      ports: [{ proto: 'tcp', family: 4, hostIP: '0.0.0.0', hostPort: 18080, containerIP: '10.231.252.2', containerPort: 80, picked: false }],
      createdAt: '2026-11-30T10:00:01.000Z',
    },
  };
}

describe('store files: own types and a format version (driver/state/files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-format-'));
    new Store(dir).load(); // makes the directories with the modes the store wants
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (kind: 'networks' | 'endpoints', id: string) => path.join(dir, kind, `${id}.json`);
  const readFile = (kind: 'networks' | 'endpoints', id: string) => JSON.parse(fs.readFileSync(file(kind, id), 'utf8')) as Record<string, unknown>;

  it('reads format 1 files (an older tsnet) and writes them back in the current format', async () => {
    const old = formatOneFiles();
    assert.equal(old.network.format, undefined);
    fs.writeFileSync(file('networks', NET), JSON.stringify(old.network, null, 1), { mode: 0o600 });
    fs.writeFileSync(file('endpoints', EP), JSON.stringify(old.endpoint, null, 1), { mode: 0o600 });

    const s = new Store(dir);
    const loaded = s.load();
    assert.deepEqual(loaded.problems, []);
    const net = loaded.state.networks[NET];
    assert.deepEqual({ ...net, endpoints: undefined }, { ...old.network, endpoints: undefined });
    assert.equal(net.config.mtu, 1400);
    assert.deepEqual(net.endpoints[EP], old.endpoint);

    s.bind(() => loaded.state);
    await s.markAllDirty().save();
    assert.deepEqual(readFile('networks', NET), { ...old.network, format: STORE_FORMAT });
    assert.deepEqual(readFile('endpoints', EP), { ...old.endpoint, format: STORE_FORMAT });
    const again = new Store(dir).load();
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.state.networks[NET].endpoints[EP], old.endpoint);
  });

  it('sets aside a file of a newer format, saying so, and loads the rest', () => {
    const old = formatOneFiles();
    fs.writeFileSync(file('networks', NET), JSON.stringify({ ...old.network, format: STORE_FORMAT + 1 }), { mode: 0o600 });
    fs.writeFileSync(file('endpoints', EP), JSON.stringify({ ...old.endpoint, format: STORE_FORMAT }), { mode: 0o600 });
    const loaded = new Store(dir).load();
    assert.equal(loaded.problems.length, 1);
    assert.match(loaded.problems[0], new RegExp(`${NET}\\.json: was written in store format ${STORE_FORMAT + 1} by a newer tsnet; this one reads formats 1 to ${STORE_FORMAT}$`));
    assert.equal(loaded.quarantined.length, 1);
    assert.ok(fs.existsSync(loaded.quarantined[0]), 'kept aside, not deleted');
    assert.deepEqual(loaded.orphanEndpoints.map((e) => e.id), [EP], 'its endpoint still loads');
  });

  it('only the file format\'s fields reach the disk', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    const old = formatOneFiles();
    state.networks[NET] = { ...(old.network as unknown as NetworkRecord), endpoints: Object.create(null) as NetworkRecord['endpoints'] };
    const ep = { ...(old.endpoint as unknown as EndpointRecord), scratch: 'in memory only' };
    state.networks[NET].endpoints[EP] = ep;
    await s.markNetworkDirty(NET).markEndpointDirty(EP).save();
    assert.deepEqual(Object.keys(readFile('endpoints', EP)).sort(), [...Object.keys(old.endpoint), 'format'].sort());
    assert.deepEqual(Object.keys(readFile('networks', NET)).sort(), ['addedAddresses', 'bridgeAdopted', 'config', 'createdAt', 'format']);
  });
});
