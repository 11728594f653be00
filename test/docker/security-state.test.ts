/**
 * Issue 13 at Docker and API level:
 * - item 11: a container with NET_ADMIN names an interface with terminal escape sequences;
 *   `tsnet inspect` shows the name escaped (table and --json), never the raw bytes;
 * - item 3: a driver process gets remote-API calls whose IDs are names of Object.prototype
 *   members; they work (create, join, publish, restart from disk, delete) like any other ID.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import type { InspectReport } from '@tsnet/driver/dist/cli/inspect';
import { DRIVER_NAME, DriverProcess, REPO, Scenario, freeSubnet, getStatus, linkExists, sh } from '../helpers/docker';
import { driver } from './env';

const TSNET = path.join(REPO, 'driver', 'dist', 'cli', 'tsnet.js');
const ESC = '\x1b';

function tsnet(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TSNET, ...args, '--status-socket', driver.statusSocket], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('tsnet inspect escapes names a container chose (issue 13 item 11)', function () {
  this.timeout(180_000);
  const s = new Scenario();
  after(() => s.cleanup());

  it('an interface named with escape sequences by a NET_ADMIN container is shown escaped', () => {
    const sub = freeSubnet();
    const network = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4, '--gateway', sub.gw4]);
    const c = s.run(['--network', network, '--cap-add', 'NET_ADMIN']);
    // Colour, then an OSC "set window title" ending in BEL: 15 bytes, a valid kernel name.
    const evil = `${ESC}[31mX${ESC}]0;pw\x07`;
    assert.ok(Buffer.byteLength(evil) <= 15);
    // A new veth pair if this busybox can make one, else the container's loopback renamed.
    const made =
      s.execOk(c, ['ip', 'link', 'add', 'name', evil, 'type', 'veth', 'peer', 'name', 'evilpeer']) ||
      s.execOk(c, ['ip', 'link', 'add', 'name', evil, 'type', 'veth']) ||
      (s.execOk(c, ['ip', 'link', 'set', 'lo', 'down']) && s.execOk(c, ['ip', 'link', 'set', 'lo', 'name', evil]));
    assert.ok(made, 'the NET_ADMIN container could not name an interface');
    assert.ok(s.exec(c, ['ip', 'link', 'show']).includes(evil), 'the container could name the interface');

    const table = tsnet(['inspect', c]);
    assert.equal(table.code, 0, table.stderr);
    assert.ok(!table.stdout.includes(ESC) && !table.stdout.includes('\x07'), `raw control bytes reached the terminal: ${JSON.stringify(table.stdout)}`);
    assert.ok(table.stdout.includes('\\x1b[31mX\\x1b]0;pw\\x07'), table.stdout);
    assert.match(table.stdout, /^eth0\s+up\s/m, 'the other interfaces are listed as before');

    const js = tsnet(['inspect', c, '--json']);
    assert.equal(js.code, 0, js.stderr);
    assert.ok(!js.stdout.includes(ESC) && !js.stdout.includes('\x07'), 'raw control bytes in --json output');
    const report = JSON.parse(js.stdout) as InspectReport;
    assert.ok(report.interfaces.some((i) => i.name === evil), 'the JSON value is the exact name');
  });
});

/** POSTs a remote-API call to a driver socket; resolves with the parsed answer. */
function call(socketPath: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { socketPath, path: `/${method}`, method: 'POST', agent: false, headers: { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': String(Buffer.byteLength(data)) }, timeout: 60_000 },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(text) as Record<string, unknown>);
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('remote API: IDs named after Object.prototype members (issue 13 item 3)', function () {
  this.timeout(180_000);
  const d = new DriverProcess('tsnetproto');
  const IDS = ['toString', 'valueOf', 'hasOwnProperty', '__proto__', 'constructor'];
  const NETS = ['__proto__', 'hasOwnProperty'];
  const links = [...NETS.map((n) => `tsn-${n.slice(0, 11)}`), ...IDS.flatMap((i) => [`tsv${i.slice(0, 11)}`, `tsc${i.slice(0, 11)}`])];
  const ok = async (method: string, body: unknown) => {
    const r = await call(d.socket, `NetworkDriver.${method}`, body);
    assert.equal(r.Err, undefined, `${method} ${JSON.stringify(body).slice(0, 120)}: ${String(r.Err)}`);
    return r;
  };

  // These networks exist only in this driver, not in Docker: keep its start-up check with Docker
  // (which removes networks Docker does not have) from seeing them.
  const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/tsnet-test-docker.sock' };
  const restart = async () => {
    await d.stop();
    await d.start(NO_DOCKER);
  };

  before(async () => {
    for (const l of links) assert.ok(!linkExists(l), `${l} exists before the test; remove it`);
    await d.start(NO_DOCKER);
  });
  after(async () => {
    for (const n of NETS) await call(d.socket, 'NetworkDriver.DeleteNetwork', { NetworkID: n }).catch(() => undefined);
    await d.stop();
    d.removeState();
    for (const l of links) if (linkExists(l)) sh('ip', ['link', 'del', l]);
  });

  it('creates, joins, publishes, survives a restart and deletes them like any other ID', async () => {
    const a = freeSubnet();
    const b = freeSubnet();
    await ok('CreateNetwork', { NetworkID: NETS[0], Options: {}, IPv4Data: [{ Pool: a.v4, Gateway: `${a.gw4}/24` }] });
    await ok('CreateNetwork', { NetworkID: NETS[1], Options: {}, IPv4Data: [{ Pool: b.v4, Gateway: `${b.gw4}/24` }] });
    let n = 2;
    for (const id of IDS) {
      const r = await ok('CreateEndpoint', { NetworkID: NETS[0], EndpointID: id, Interface: { Address: `${a.v4.split('.').slice(0, 3).join('.')}.${n++}/24` } });
      assert.match(String((r.Interface as { MacAddress?: string } | undefined)?.MacAddress), /^02:42:/);
      await ok('Join', { NetworkID: NETS[0], EndpointID: id, SandboxKey: '/var/run/docker/netns/tsnet-test-none' });
      assert.ok(linkExists(`tsv${id.slice(0, 11)}`), `veth of ${id}`);
    }
    const dup = await call(d.socket, 'NetworkDriver.CreateEndpoint', { NetworkID: NETS[1], EndpointID: 'toString', Interface: { Address: `${b.v4.split('.').slice(0, 3).join('.')}.2/24` } });
    assert.match(String(dup.Err), /endpoint toString already exists/);
    const unknown = await call(d.socket, 'NetworkDriver.Leave', { NetworkID: NETS[1], EndpointID: 'valueOf' });
    assert.match(String(unknown.Err), /no such endpoint valueOf/);
    const port = 20000 + (process.pid % 5000);
    await ok('ProgramExternalConnectivity', { NetworkID: NETS[0], EndpointID: 'constructor', Options: { 'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '127.0.0.1', HostPort: port, HostPortEnd: port }] } });
    const info = await ok('EndpointOperInfo', { NetworkID: NETS[0], EndpointID: '__proto__' });
    assert.equal((info.Value as Record<string, unknown>)['tsnet.host_veth'], 'tsv__proto__');

    // From disk: a restarted driver knows every one of them.
    await restart();
    const status = await getStatus(d.statusSocket);
    const mine = status.networks.find((x) => x.id === NETS[0]);
    assert.deepEqual(mine?.endpoints.map((e) => e.id).sort(), [...IDS].sort());
    assert.deepEqual(mine?.endpoints.find((e) => e.id === 'constructor')?.ports.map((p) => p.hostPort), [port]);
    assert.ok(mine?.endpoints.every((e) => e.present && e.joined));

    for (const id of IDS) {
      await ok('RevokeExternalConnectivity', { NetworkID: NETS[0], EndpointID: id });
      await ok('Leave', { NetworkID: NETS[0], EndpointID: id });
      await ok('DeleteEndpoint', { NetworkID: NETS[0], EndpointID: id });
    }
    // Saves after the deletes still work: a new endpoint is stored and found after a restart.
    await ok('CreateEndpoint', { NetworkID: NETS[1], EndpointID: 'valueOf', Interface: { Address: `${b.v4.split('.').slice(0, 3).join('.')}.2/24` } });
    await restart();
    const again = await getStatus(d.statusSocket);
    assert.deepEqual(again.networks.find((x) => x.id === NETS[1])?.endpoints.map((e) => e.id), ['valueOf']);
    assert.deepEqual(again.networks.find((x) => x.id === NETS[0])?.endpoints, []);
    await ok('DeleteEndpoint', { NetworkID: NETS[1], EndpointID: 'valueOf' });
    for (const net of NETS) await ok('DeleteNetwork', { NetworkID: net });
    for (const l of links) assert.ok(!linkExists(l), `${l} left behind`);
    assert.doesNotMatch(d.log, /could not save the store/);
  });
});
