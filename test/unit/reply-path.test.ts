/**
 * What stays off the answer's path (issue 17): Join and a Leave without port maps answer before
 * the endpoint file is written (it is informative only) and the write follows at once; the
 * remote API's answers carry no ETag or other work dockerd does not read.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseNetworkRequest, PLUGIN_CONTENT_TYPE } from '@tsnet/shared';
import { createApp } from '@tsnet/driver/dist/api/app';
import { Driver } from '@tsnet/driver/dist/core/driver';
import { Metrics } from '@tsnet/driver/dist/core/metrics';
import { Store } from '@tsnet/driver/dist/state/store';
import { records, type EndpointRecord, type NetworkRecord } from '@tsnet/driver/dist/state/types';

const NET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EP = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

describe('reply path: work the answer does not wait for', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-reply-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const onDisk = () => JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', `${EP}.json`), 'utf8')) as { joined: boolean; sandboxKey?: string };

  it('Join and a Leave without port maps answer before the endpoint file is written; the write follows right after', async () => {
    const store = new Store(dir);
    const { state } = store.load();
    store.bind(() => state);
    const config = parseNetworkRequest({ NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '10.231.253.0/24', Gateway: '10.231.253.1/24' }] });
    const net: NetworkRecord = { config, bridgeAdopted: false, createdAt: 'x', endpoints: records() };
    const ep: EndpointRecord = { id: EP, networkId: NET, hostVeth: 'tsve0e1e2e3e4e', containerVeth: 'tsce0e1e2e3e4e', mac: '02:42:0a:e7:fd:02', ipv4: '10.231.253.2/24', joined: false, ports: [], createdAt: 'x' };
    state.networks[NET] = net;
    net.endpoints[EP] = ep;
    await store.markNetworkDirty(NET).markEndpointDirty(EP).save();
    let lookups = 0;
    const netlink = { getLink: async (name: string) => (lookups++, { name, index: 7, kind: 'veth' }) };
    const driver = new Driver({ store, state, log: quiet, netlink } as never);

    const answer = await driver.join({ NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/x', Options: {} });
    assert.equal(answer.Gateway, '10.231.253.1');
    assert.equal(lookups, 1, 'the veth was looked up in the kernel (not created by this process)');
    assert.equal(onDisk().joined, false, 'answered before the endpoint file was written');
    await new Promise((r) => setImmediate(r));
    await store.close();
    assert.deepEqual([onDisk().joined, onDisk().sandboxKey], [true, '/var/run/docker/netns/x'], 'written right after the answer');

    await driver.leave({ NetworkID: NET, EndpointID: EP });
    assert.equal(onDisk().joined, true, 'answered before the endpoint file was written');
    await new Promise((r) => setImmediate(r));
    await store.close();
    assert.deepEqual([onDisk().joined, onDisk().sandboxKey], [false, undefined], 'written right after the answer');
  });

  /** A store with one network (and, when asked, one endpoint) on disk, and a driver on fakes. */
  async function setUp(withEndpoint: boolean, deps: object) {
    const store = new Store(dir);
    const { state } = store.load();
    store.bind(() => state);
    const config = parseNetworkRequest({ NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '10.231.253.0/24', Gateway: '10.231.253.1/24' }] });
    const net: NetworkRecord = { config, bridgeAdopted: false, createdAt: 'x', endpoints: records() };
    state.networks[NET] = net;
    store.markNetworkDirty(NET);
    if (withEndpoint) {
      net.endpoints[EP] = { id: EP, networkId: NET, hostVeth: 'tsve0e1e2e3e4e', containerVeth: 'tsce0e1e2e3e4e', mac: '02:42:0a:e7:fd:02', ipv4: '10.231.253.2/24', joined: true, ports: [], createdAt: 'x' };
      store.markEndpointDirty(EP);
    }
    await store.save();
    return { store, driver: new Driver({ store, state, log: quiet, ...deps } as never) };
  }

  /** A kernel call that finishes when the test says so. */
  function held() {
    let release!: (err?: Error) => void;
    let calls = 0;
    const call = () => {
      calls++;
      return new Promise<void>((resolve, reject) => (release = (err) => (err ? reject(err) : resolve())));
    };
    return { call, release: (err?: Error) => release(err), get calls() { return calls; } };
  }
  const endpointFile = path.join('endpoints', `${EP}.json`);
  const tick = () => new Promise((r) => setImmediate(r));

  it('CreateEndpoint writes the endpoint file while the kernel makes the veth; a refused veth takes the file away again', async () => {
    const veth = held();
    const { store, driver } = await setUp(false, { netlink: { createVeth: veth.call } });
    const req = { NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.253.2/24' }, Options: {} };
    const answer = driver.createEndpoint(req);
    await tick();
    await tick();
    assert.equal(veth.calls, 1);
    assert.ok(fs.existsSync(path.join(dir, endpointFile)), 'the file is written before the kernel has answered');
    veth.release();
    assert.deepEqual(await answer, { Interface: { MacAddress: '02:42:0a:e7:fd:02' } });
    assert.equal(onDisk().joined, false);

    const EP2 = `f${EP.slice(1)}`;
    const veth2 = held();
    const { driver: d2 } = await setUp(false, { netlink: { createVeth: veth2.call, getLink: async () => undefined } });
    const second = d2.createEndpoint({ ...req, EndpointID: EP2 });
    await tick();
    await tick();
    assert.ok(fs.existsSync(path.join(dir, 'endpoints', `${EP2}.json`)));
    veth2.release(new Error('injected: the kernel refused'));
    await assert.rejects(second, /injected: the kernel refused/);
    assert.ok(!fs.existsSync(path.join(dir, 'endpoints', `${EP2}.json`)), 'the file is gone again');
    assert.equal(d2.repository.findEndpoint(EP2), undefined, 'and so is the record');
    await store.close();
  });

  it('ProgramExternalConnectivity and RevokeExternalConnectivity record the port maps (a journal line) while the kernel changes them, the file after the answer; a refusal puts the record back', async () => {
    const add = held();
    const remove = held();
    const firewall = { addPortMaps: add.call, removePortMaps: remove.call };
    const { store, driver } = await setUp(true, { firewall, boundSockets: async () => [] });
    const req = { NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 18080, HostPortEnd: 18080 }] } };
    // What a restart reads: the endpoint file with the journal's port-map lines over it.
    const ports = () => (new Store(dir).load().state.networks[NET].endpoints[EP]?.ports ?? []).map((p) => p.hostPort);
    const filePorts = () => (JSON.parse(fs.readFileSync(path.join(dir, endpointFile), 'utf8')) as { ports: { hostPort: number }[] }).ports.map((p) => p.hostPort);
    const answer = driver.programExternalConnectivity(req);
    await tick();
    await tick();
    assert.equal(add.calls, 1);
    assert.deepEqual(ports(), [18080], 'a restart reads the map before the kernel has answered');
    add.release();
    await answer;
    assert.deepEqual(ports(), [18080]);
    await tick();
    await store.save();
    assert.deepEqual(filePorts(), [18080], 'the endpoint file follows the answer');

    const revoked = driver.revokeExternalConnectivity({ NetworkID: NET, EndpointID: EP });
    await tick();
    await tick();
    assert.equal(remove.calls, 1);
    assert.deepEqual(ports(), [], 'RevokeExternalConnectivity: a restart reads no map before the kernel has answered');
    remove.release();
    await revoked;
    const again = driver.programExternalConnectivity(req);
    await tick();
    await tick();
    assert.deepEqual(ports(), [18080]);
    add.release(new Error('injected: the kernel refused'));
    await assert.rejects(again, /injected: the kernel refused/);
    assert.deepEqual(ports(), [], 'the refused map is off the record again');

    const third = driver.programExternalConnectivity(req);
    await tick();
    await tick();
    add.release();
    await third;
    const refused = driver.revokeExternalConnectivity({ NetworkID: NET, EndpointID: EP });
    await tick();
    await tick();
    remove.release(new Error('injected: the kernel refused the removal'));
    await assert.rejects(refused, /injected: the kernel refused the removal/);
    assert.deepEqual(ports(), [18080], 'a refused removal puts the map back on the record');
    await store.close();
  });

  it('an answer is the JSON body with the plugin content type and its length, and no ETag', async () => {
    const sock = path.join(dir, 'p.sock');
    const core = { join: async () => ({ InterfaceName: { SrcName: 'tsce0', DstPrefix: 'eth' } }) };
    const server = await new Promise<http.Server>((resolve) => {
      const s = createApp(core as never as Driver, new Metrics(), quiet).listen(sock, () => resolve(s));
    });
    try {
      for (const [body, expected] of [
        [{ NetworkID: 'n1', EndpointID: 'e1', SandboxKey: '/var/run/docker/netns/x' }, { InterfaceName: { SrcName: 'tsce0', DstPrefix: 'eth' } }],
        [{ NetworkID: 'n1', EndpointID: 'e1', SandboxKey: 7 }, undefined],
      ] as const) {
        const data = JSON.stringify(body);
        const r = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
          const req = http.request({ socketPath: sock, method: 'POST', path: '/NetworkDriver.Join', headers: { 'Content-Length': Buffer.byteLength(data) } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          });
          req.on('error', reject);
          req.end(data);
        });
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], `${PLUGIN_CONTENT_TYPE}; charset=utf-8`);
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.text));
        assert.equal(r.headers.etag, undefined, 'no ETag: dockerd never sends If-None-Match');
        const parsed = JSON.parse(r.text) as Record<string, unknown>;
        if (expected) assert.deepEqual(parsed, expected);
        else assert.match(String(parsed.Err), /^Join: invalid request \(SandboxKey: /);
      }
    } finally {
      server.close();
    }
  });
});
