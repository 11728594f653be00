/**
 * Multi-host networks in a real VS Code (code-server), against a real tsnet driver that has a real
 * cluster: scripts/multihost.sh brings up one Docker host (namespace mh-1 with its own dockerd and
 * tsnet driver, etcd from Debian's etcd-server on the harness's underlay bridge). Other hosts are
 * simulated the way the driver's scale test does: records written into etcd in the driver's own
 * format (driver/src/cluster/etcd.ts), so the real driver watches them, programs routes to their
 * blocks over its VXLAN link in mh-1's kernel and reports them in GET /status. The extension is
 * pointed at mh-1's engine and status socket through the settings files, and its Networks view and
 * topology must show those hosts, their blocks and the VXLAN links, follow a host joining and
 * leaving, and keep them keyboard-reachable with labels. `multihost.sh down` in the after hook
 * removes the namespace, engine, driver, etcd and bridge, also on failure; the settings are restored.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { FrameLocator } from 'playwright-core';
import { fetchTsnetStatus } from '../../docker/tsnet-status';
import type { StatusReport } from '@tsnet/shared';
import { requireEnv, Workbench } from './workbench';
import { eventually } from './docker-helpers';

const repo = path.resolve(__dirname, '../../../..');
const HARNESS = path.join(repo, 'scripts/multihost.sh');
const MH = '/tmp/tsnet-mh/mh-1';
const DOCKER_HOST = `unix://${MH}/docker.sock`;
const STATUS_SOCKET = `${MH}/status.sock`;
const ETCD = 'http://172.30.250.1:2379';
const SELF = '172.30.250.11';
const NET = 'tstt-mh';
const SUBNET = '10.63.0.0/16';
const IMAGE = 'tsnet-test-busybox:latest';
const ARTIFACTS = path.join(repo, 'test-artifacts', 'topology');
/** Simulated remote hosts: underlay addresses on the harness's underlay that no namespace uses. */
const SIM = [
  { address: '172.30.250.201', hostname: 'tstt-sim-1', blocks: ['10.63.1.0/26'] },
  { address: '172.30.250.202', hostname: 'tstt-sim-2', blocks: ['10.63.2.0/26', '10.63.2.64/26'] },
];

function sh(cmd: string, args: string[], timeout = 60_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
  } catch (e) {
    const x = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(x.stderr ?? '').trim() || x.message}`);
  }
}
const docker = (...args: string[]) => sh('docker', ['-H', DOCKER_HOST, ...args]).trim();
const etcdctl = (...args: string[]) => sh('etcdctl', ['--endpoints', ETCD, ...args]);
const cidrKey = (cidr: string) => cidr.replace('/', '-');
const vtepMac = (address: string) => `02:74:${address.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join(':')}`;

/** A host record and its blocks, as Cluster.register / claimBlock write them. */
function announce(h: (typeof SIM)[number]): void {
  etcdctl('put', `/tsnet/v1/hosts/${h.address}`, JSON.stringify({ address: h.address, hostname: h.hostname, mac: vtepMac(h.address), vni: 7476, port: 8472, registeredAt: new Date().toISOString() }));
  for (const b of h.blocks) etcdctl('put', `/tsnet/v1/blocks/${cidrKey(SUBNET)}/${cidrKey(b)}`, JSON.stringify({ host: h.address }));
}
/** The host's lease ran out: its record goes (its blocks stay, as in the driver). */
function vanish(h: (typeof SIM)[number]): void {
  etcdctl('del', `/tsnet/v1/hosts/${h.address}`);
}
const kernelRoutes = () => sh('ip', ['-n', 'mh-1', 'route', 'show']);

describe('remote hosts of a multi-host network in the topology and the tree (code-server, a real driver with etcd)', function () {
  let wb: Workbench;
  let frame: FrameLocator;
  let networkId: string;
  const settings: { file: string; before: string | undefined }[] = [];
  const status = async (): Promise<StatusReport> => {
    const r = await fetchTsnetStatus(STATUS_SOCKET);
    if (!r.reachable) throw new Error(`mh-1's status API does not answer: ${r.reason}`);
    return r.report;
  };
  const node = (id: string) => frame.locator(`#viewport [data-node-id="${id}"]`);
  const edge = (id: string) => frame.locator(`#viewport [data-edge-id="${id}"]`);
  const screenshot = async (name: string) => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await wb.page.mouse.move(5, 5);
    await wb.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  };
  /** Sets (or with undefined, restores) one key in a settings file the harness gave. */
  const setSetting = (env: string, key: string, value: unknown) => {
    const file = requireEnv(env);
    let entry = settings.find((s) => s.file === file);
    if (!entry) settings.push((entry = { file, before: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined }));
    const s = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    s[key] = value;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(s, null, 2));
  };

  before(async function () {
    this.timeout(300_000);
    const url = requireEnv('CODE_SERVER_URL');
    if (process.getuid?.() !== 0) throw new Error('this suite needs root (scripts/multihost.sh makes namespaces and a dockerd)');
    sh('bash', [HARNESS, 'down'], 240_000);
    sh('bash', [HARNESS, 'up', '1'], 240_000);
    // test-ui.sh takes the harness down if this run is killed before the after hook.
    fs.writeFileSync('/tmp/tsnet-mh/made-by-ui-test', `${process.pid}\n`);
    // A multi-host network on mh-1 and a container on it: mh-1 claims its first block in etcd.
    networkId = docker('network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', SUBNET, '-o', `tsnet.cluster=${NET}`, NET);
    docker('run', '-d', '--name', 'tstt-mh-web', '--network', NET, IMAGE, 'sleep', '600');
    announce(SIM[0]);
    // The real driver watched etcd: its status and mh-1's kernel have the simulated host.
    await eventually('mh-1\'s driver reports tstt-sim-1 and routes its block', async () => {
      const c = (await status()).cluster;
      return c?.hosts.some((h) => h.address === SIM[0].address) && c.remoteRoutes.includes(`${SIM[0].blocks[0]} via ${SIM[0].address}`);
    }, 20_000, 250);
    assert.match(kernelRoutes(), new RegExp(`^${SIM[0].blocks[0].replace(/\./g, '\\.')} via ${SIM[0].address.replace(/\./g, '\\.')} dev tsnet-vx`, 'm'));
    // The extension reads mh-1: its engine (machine-scoped setting) and its driver's status socket.
    setSetting('TSNET_MACHINE_SETTINGS', 'tsnet.dockerHost', DOCKER_HOST);
    setSetting('TSNET_USER_SETTINGS', 'tsnet.statusSocket', STATUS_SOCKET);
    wb = await Workbench.open(url, requireEnv('TSNET_ARTIFACTS'));
  });

  after(async function () {
    this.timeout(300_000);
    try {
      if (wb && this.currentTest?.state === 'failed') await screenshot('remote-hosts-failure').catch(() => undefined);
      await wb?.close();
    } finally {
      for (const s of settings) {
        if (s.before === undefined) fs.rmSync(s.file, { force: true });
        else fs.writeFileSync(s.file, s.before);
      }
      sh('bash', [HARNESS, 'down'], 240_000);
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await screenshot(`failed-remote-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => undefined);
    }
  });

  it('lists the remote host under the multi-host network in the Networks view, with its VTEP and block', async function () {
    this.timeout(90_000);
    await wb.openTsnetView();
    const networks = await wb.expandSection('Networks');
    await wb.waitRow(networks, [NET, 'tsnet ('], 45_000);
    const row = await wb.waitRow(networks, [SIM[0].hostname, `VTEP ${SIM[0].address}`, SIM[0].blocks[0]], 30_000);
    assert.match(await row.innerText(), /lease \d+ s/);
  });

  it('draws the remote host with its blocks, linked by a VXLAN edge through this host\'s VXLAN link from the network\'s bridge', async function () {
    this.timeout(90_000);
    await wb.runCommand('tsnet: Show Topology');
    frame = wb.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator('#topology').waitFor({ timeout: 60_000 });
    const sim1 = node(`rh:${SIM[0].address}`);
    await sim1.waitFor({ state: 'attached', timeout: 30_000 });
    const text = (await sim1.textContent()) ?? '';
    for (const want of [SIM[0].hostname, `VTEP ${SIM[0].address}`, SIM[0].blocks[0]]) assert.ok(text.includes(want), `${want} in "${text}"`);
    const vx = node('vx:tsnet-vx');
    assert.match((await vx.textContent()) ?? '', new RegExp(`VXLAN tsnet-vx.*VNI 7476.*VTEP ${SELF.replace(/\./g, '\\.')}`));
    // bridge → VXLAN link → remote host, as the driver routes it.
    const route = edge(`route:${networkId}`);
    assert.strictEqual(await route.getAttribute('data-source'), `net:${networkId}:out`);
    assert.strictEqual(await route.getAttribute('data-target'), 'vx:tsnet-vx:in');
    assert.match((await route.getAttribute('aria-label')) ?? '', new RegExp(`route ${SIM[0].blocks[0].replace(/[./]/g, '\\$&')} via ${SIM[0].address.replace(/\./g, '\\.')}`));
    const tunnel = edge(`vxlan:${SIM[0].address}`);
    assert.strictEqual(await tunnel.getAttribute('data-source'), 'vx:tsnet-vx:out');
    assert.strictEqual(await tunnel.getAttribute('data-target'), `rh:${SIM[0].address}:in`);
    assert.strictEqual((await tunnel.locator('.edge-label').textContent())?.trim(), SIM[0].address);
    // The remote host is drawn outside the host frame, right of the VXLAN link.
    const box = async (id: string) => (await node(id).boundingBox())!;
    assert.ok((await box('vx:tsnet-vx')).x + (await box('vx:tsnet-vx')).width <= (await box(`rh:${SIM[0].address}`)).x, 'remote host right of the VXLAN link');
    const hostFrame = (await frame.locator('#viewport .host-frame').boundingBox())!;
    assert.ok((await box(`rh:${SIM[0].address}`)).x >= hostFrame.x + hostFrame.width, 'remote host outside the host frame');
    await frame.locator('#zoom-fit').click();
    await screenshot('topology-remote-hosts');
  });

  it('reaches the remote host, the VXLAN link and their edges by keyboard, each with a role and an aria label', async function () {
    this.timeout(90_000);
    const a11y = await frame.locator('#viewport').evaluate((layer) => {
      const focusable = (el: Element | null) => !!el && el.hasAttribute('tabindex') && el.getAttribute('role') === 'button' && !!el.getAttribute('aria-label')?.trim();
      const frameOf = (id: string) => layer.querySelector(`[data-node-id="${id}"] [data-part$="#0"]`);
      const items = ['rh:172.30.250.201', 'vx:tsnet-vx'].map((id) => ({ id, ok: focusable(frameOf(id)), label: frameOf(id)?.getAttribute('aria-label') ?? '', role: frameOf(id)?.getAttribute('aria-roledescription') ?? '' }));
      const edges = Array.from(layer.querySelectorAll('.edge.tunnel, .edge.route')).map((e) => ({ id: e.getAttribute('data-edge-id'), ok: focusable(e), role: e.getAttribute('aria-roledescription') }));
      return { items, edges };
    });
    assert.deepStrictEqual(a11y.items.map((i) => [i.id, i.ok, i.role]), [['rh:172.30.250.201', true, 'remote host'], ['vx:tsnet-vx', true, 'VXLAN link']]);
    assert.match(a11y.items[0].label, /remote host tstt-sim-1 \(VTEP 172\.30\.250\.201/);
    assert.match(a11y.items[0].label, /blocks 10\.63\.1\.0\/26/);
    assert.match(a11y.items[1].label, /VXLAN link tsnet-vx of this host/);
    assert.deepStrictEqual(a11y.edges.map((e) => `${e.id} ${e.ok} ${e.role}`).sort(), [`route:${networkId} true route to remote hosts`, `vxlan:${SIM[0].address} true VXLAN tunnel`], JSON.stringify(a11y.edges));
    // From the toolbar, Tab walks into the picture and on to the remote host.
    const focused = () => frame.locator('body').evaluate(() => ({ inPicture: !!document.activeElement?.closest('#viewport'), label: document.activeElement?.getAttribute('aria-label') ?? '' }));
    await frame.locator('#search').focus();
    const total = await frame.locator('#viewport [tabindex]').count();
    let reached = false;
    for (let i = 0; i < total + 15 && !reached; i++) {
      await wb.page.keyboard.press('Tab');
      reached = (await focused()).label.includes(`remote host ${SIM[0].hostname}`);
    }
    assert.ok(reached, `Tab reached ${SIM[0].hostname} (last focus: ${(await focused()).label})`);
    // Arrow keys move between it and its neighbours: left towards the VXLAN link, right back.
    await wb.page.keyboard.press('ArrowLeft');
    const left = await focused();
    assert.ok(left.inPicture && !left.label.includes(`remote host ${SIM[0].hostname}`), `ArrowLeft left the remote host: ${left.label}`);
  });

  it('follows the cluster: a host that joins is drawn and listed within seconds, one whose lease ended goes', async function () {
    this.timeout(90_000);
    const t0 = Date.now();
    announce(SIM[1]);
    const sim2 = node(`rh:${SIM[1].address}`);
    await eventually('tstt-sim-2 drawn', async () => (await sim2.count()) > 0, 20_000, 200);
    console.log(`      a joining host was drawn ${Date.now() - t0} ms after its record was written to etcd`);
    const text = (await sim2.textContent()) ?? '';
    for (const b of SIM[1].blocks) assert.ok(text.includes(b), `${b} in "${text}"`);
    assert.strictEqual(await edge(`vxlan:${SIM[1].address}`).count(), 1);
    const networks = await wb.expandSection('Networks');
    await wb.waitRow(networks, [SIM[1].hostname, `VTEP ${SIM[1].address}`, SIM[1].blocks[0], SIM[1].blocks[1]], 20_000);
    await screenshot('topology-remote-hosts-two');

    const t1 = Date.now();
    vanish(SIM[0]);
    await eventually('tstt-sim-1 gone from the picture', async () => (await node(`rh:${SIM[0].address}`).count()) === 0, 20_000, 200);
    console.log(`      a departed host left the picture ${Date.now() - t1} ms after its record was deleted`);
    assert.strictEqual(await edge(`vxlan:${SIM[0].address}`).count(), 0);
    assert.ok(!kernelRoutes().includes(`via ${SIM[0].address}`), 'the driver removed its route from mh-1\'s kernel');
    await wb.waitNoRow(networks, [SIM[0].hostname], 20_000);
  });
});
