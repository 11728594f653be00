/**
 * The extension in a real VS Code (code-server) driven through headless Chromium, against the
 * real dockerd. Every Docker object made here is named `tstx-ui-*` and removed in after hooks,
 * also on failure; nothing else is touched (never a prune).
 */
import * as assert from 'assert';
import Docker from 'dockerode';
import type { Locator } from 'playwright-core';
import type { EndpointStatus, NetworkStatus } from '@tsnet/shared';
import { fetchTsnetStatus } from '../../docker/tsnet-status';
import { hostLink, requireEnv, Workbench } from './workbench';
import { eventually, freePort, removeObjectsNamed } from './docker-helpers';

const PREFIX = 'tstx-ui-';
const IMAGE = 'tsnet-test-busybox:latest';
const NET = `${PREFIX}net`;
const CREATED = `${PREFIX}created`;
const WEB = `${PREFIX}web`;
const SIDE = `${PREFIX}side`;
const SIDECAR = `${PREFIX}sidecar`;
const SUBNET = '10.213.1.0/24';
const WEB_IP = '10.213.1.10';
const CREATED_SUBNET = '10.213.5.0/24';
/** On the tsnet driver the harness runs (TSNET_TEST_DRIVER). */
const TS_NET = `${PREFIX}tsnet`;
const TS_SUBNET = '10.213.7.0/24';
const TS_WEB = `${PREFIX}tsweb`;
const TS_PLAIN = `${PREFIX}tsplain`;

const docker = new Docker();

const removeOurObjects = () => removeObjectsNamed(docker, PREFIX);

/** The network as the tsnet driver the harness runs reports it (waiting until `ready` holds). */
async function tsnetNetwork(id: string, ready: (n: NetworkStatus) => boolean = () => true): Promise<NetworkStatus> {
  const socket = requireEnv('TSNET_TEST_STATUS_SOCKET');
  return eventually(`the driver's status of network ${id.slice(0, 12)}`, async () => {
    const r = await fetchTsnetStatus(socket);
    if (!r.reachable) throw new Error(r.reason);
    const n = r.report.networks.find((x) => x.id === id);
    return n && ready(n) ? n : undefined;
  });
}

describe('tsnet extension in code-server (real dockerd)', function () {
  let wb: Workbench;
  let hostPort: number;
  let webId: string;
  let networks: Locator;
  let namespaces: Locator;

  before(async function () {
    const url = requireEnv('CODE_SERVER_URL');
    const artifacts = requireEnv('TSNET_ARTIFACTS');
    await docker.ping();
    await docker.getImage(IMAGE).inspect().catch(() => {
      throw new Error(`image ${IMAGE} is missing: bash scripts/make-test-image.sh`);
    });
    await removeOurObjects();
    hostPort = await freePort();
    await docker.createNetwork({ Name: NET, Driver: 'bridge', CheckDuplicate: true, IPAM: { Driver: 'default', Config: [{ Subnet: SUBNET, Gateway: '10.213.1.1' }] }, Labels: { 'tsnet.test': 'ui' } });
    const web = await docker.createContainer({
      Image: IMAGE, name: WEB, Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {} },
      HostConfig: { NetworkMode: NET, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] } },
      NetworkingConfig: { EndpointsConfig: { [NET]: { IPAMConfig: { IPv4Address: WEB_IP } } } },
    });
    await web.start();
    webId = web.id;
    const side = await docker.createContainer({ Image: IMAGE, name: SIDE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: `container:${webId}` } });
    await side.start();
    wb = await Workbench.open(url, artifacts);
  });

  after(async function () {
    try {
      if (wb && this.currentTest?.state === 'failed') await wb.screenshot('failure').catch(() => undefined);
      await wb?.close();
    } finally {
      await removeOurObjects();
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await wb.screenshot(`failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
    }
  });

  it('shows network → container → IP → port rows in the Networks view', async () => {
    await wb.openTsnetView();
    networks = await wb.expandSection('Networks');
    await wb.widenSidebar(760);
    const netRow = await wb.waitRow(networks, [NET]);
    assert.match(await netRow.innerText(), /bridge · 10\.213\.1\.0\/24 · 1 container/);
    const webRow = await wb.waitRow(networks, [WEB, WEB_IP]);
    assert.match(await webRow.innerText(), /running/);
    await wb.waitRow(networks, [`${WEB_IP}/24`, 'IPv4']);
    const portRow = await wb.waitRow(networks, [`127.0.0.1:${hostPort} → 80/tcp`]);
    assert.match(await portRow.innerText(), /HTTP/);
    await wb.screenshot('networks-tree');
  });

  it('groups the --network container:X pair in the Namespaces view', async () => {
    namespaces = await wb.expandSection('Namespaces');
    const group = await wb.waitRow(namespaces, [WEB, 'pod of 2 containers']);
    assert.match(await group.innerText(), new RegExp(WEB_IP.replace(/\./g, '\\.')));
    await wb.waitRow(namespaces, [SIDE, `joined via --network container:${WEB}`]);
    await wb.screenshot('namespaces-tree');
  });

  it('creates a network through the guided input, validating as the user types', async () => {
    await wb.runCommand('tsnet: Create Network…');
    await wb.waitForQuickInput('Network name');
    assert.match(await wb.typeAndReadValidation(NET), /already exists/);
    assert.match(await wb.typeAndReadValidation('-bad'), /not a valid name/);
    await wb.submit(CREATED);
    await wb.pick('Driver', 'bridge');
    await wb.waitForQuickInput('IPv4 subnet');
    assert.match(await wb.typeAndReadValidation('10.213.5.7/24'), /host bits set; the subnet is 10\.213\.5\.0\/24/);
    assert.match(await wb.typeAndReadValidation('10.213.0.0/16'), /overlaps 10\.213\.1\.0\/24 of network "tstx-ui-net"/);
    await wb.screenshot('create-network-validation');
    await wb.submit(CREATED_SUBNET);
    await wb.waitForQuickInput('Gateway');
    assert.match(await wb.typeAndReadValidation('10.213.6.1'), /outside the subnet/);
    await wb.submit('10.213.5.1');
    await wb.answer('IP range', '10.213.5.128/25');
    await wb.waitForQuickInput('Options');
    await wb.page.keyboard.press('Enter');
    await wb.waitForQuickInput('MTU');
    assert.match(await wb.typeAndReadValidation('20'), /68 to 65535/);
    await wb.submit('1400');
    await wb.answer('Linux bridge name', 'tstxuicr0');
    await wb.answer('Labels', 'made-by=ui-test');
    await wb.answer('Driver options', 'com.docker.network.bridge.enable_icc=true');

    const info = await eventually('the network to exist', () => docker.getNetwork(CREATED).inspect().catch(() => undefined));
    assert.strictEqual(info.Driver, 'bridge');
    assert.deepStrictEqual(info.IPAM?.Config, [{ Subnet: CREATED_SUBNET, Gateway: '10.213.5.1', IPRange: '10.213.5.128/25' }]);
    assert.strictEqual(info.Options?.['com.docker.network.driver.mtu'], '1400');
    assert.strictEqual(info.Options?.['com.docker.network.bridge.name'], 'tstxuicr0');
    assert.strictEqual(info.Options?.['com.docker.network.bridge.enable_icc'], 'true');
    assert.strictEqual(info.Labels?.['made-by'], 'ui-test');
    await wb.waitRow(networks, [CREATED, CREATED_SUBNET]);
    await wb.notification(`created network "${CREATED}"`).waitFor();
    await wb.screenshot('network-created');
  });

  it('connects a container with a static IP and an alias', async () => {
    await wb.runCommand('tsnet: Connect Container to Network…');
    await wb.pick('Container to connect', WEB);
    await wb.pick(`Network to connect ${WEB}`, CREATED);
    await wb.waitForQuickInput('Static IP');
    assert.match(await wb.typeAndReadValidation('10.213.1.50'), /outside the subnet/);
    await wb.submit('10.213.5.50');
    await wb.answer('Aliases', 'webalias');
    const ep = await eventually('the endpoint', async () => (await docker.getContainer(WEB).inspect()).NetworkSettings.Networks[CREATED]);
    assert.strictEqual(ep.IPAddress, '10.213.5.50');
    assert.ok(ep.Aliases?.includes('webalias'), `aliases ${ep.Aliases}`);
    await wb.waitRow(networks, [CREATED, '1 container']);
    await wb.waitRow(networks, [WEB, '10.213.5.50']);
    await wb.screenshot('container-connected');
  });

  it('refuses to remove a network while containers are attached, saying which', async () => {
    await wb.runCommand('tsnet: Remove Network…');
    await wb.pick('Network to remove', CREATED);
    const note = wb.notification(/cannot remove network "tstx-ui-created": 1 container is attached \(tstx-ui-web\)/);
    await note.waitFor();
    await wb.screenshot('remove-refused');
    await docker.getNetwork(CREATED).inspect();
  });

  it('disconnects the container', async () => {
    await wb.runCommand('tsnet: Disconnect Container from Network…');
    await wb.pick('Container to disconnect', WEB);
    await wb.pick(`Network to disconnect ${WEB}`, CREATED);
    await eventually('the endpoint to go', async () => !(await docker.getContainer(WEB).inspect()).NetworkSettings.Networks[CREATED]);
    await wb.waitRow(networks, [CREATED, '0 containers']);
    await wb.screenshot('container-disconnected');
  });

  it('removes the network after confirmation', async () => {
    await wb.runCommand('tsnet: Remove Network…');
    await wb.pick('Network to remove', CREATED);
    await wb.clickDialogButton('Remove');
    await eventually('the network to be removed', async () => (await docker.getNetwork(CREATED).inspect().then(() => false, () => true)));
    await wb.waitNoRow(networks, [CREATED]);
    await wb.screenshot('network-removed');
  });

  it('runs a container in another container\'s network namespace', async () => {
    await wb.runCommand("tsnet: Run a Container in This Container's Network Namespace…");
    await wb.pick('network namespace of', WEB);
    await wb.waitForQuickInput('Image');
    assert.strictEqual(await wb.quickInput().locator('input.input').inputValue(), IMAGE, 'the image defaults to the owner\'s');
    await wb.answer('Image', IMAGE);
    await wb.answer('Command', 'sleep 3600');
    await wb.answer('Container name', SIDECAR);
    const info = await eventually('the sidecar to run', async () => {
      const c = await docker.getContainer(SIDECAR).inspect();
      return c.State.Running ? c : undefined;
    });
    assert.strictEqual(info.HostConfig.NetworkMode, `container:${webId}`);
    assert.deepStrictEqual(info.Config.Cmd, ['sleep', '3600']);
    await wb.waitRow(namespaces, [WEB, 'pod of 3 containers']);
    await wb.waitRow(namespaces, [SIDECAR, `joined via --network container:${WEB}`]);
    await wb.screenshot('run-in-namespace');
  });

  it('opens Inspect as a read-only JSON document', async () => {
    await wb.runCommand('tsnet: Inspect');
    await wb.pick('Inspect a network or a container', 'Network');
    await wb.pick('Network to inspect', NET);
    const tab = wb.page.locator('.tabs-container .tab', { hasText: `${NET}.json` });
    await tab.waitFor();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: '"Name": "tstx-ui-net"' }).first().waitFor();
    await wb.screenshot('inspect');
  });

  it('creates a tsnet network through the guided input, the driver defaulting to tsnet', async () => {
    const driver = requireEnv('TSNET_TEST_DRIVER');
    await wb.runCommand('tsnet: Create Network…');
    await wb.answer('Network name', TS_NET);
    await wb.waitForQuickInput(`Driver (default ${driver})`);
    await wb.page.keyboard.press('Enter'); // the default
    await wb.answer('IPv4 subnet', TS_SUBNET);
    await wb.answer('Gateway', '');
    await wb.answer('IP range', '');
    await wb.waitForQuickInput('Options');
    await wb.page.keyboard.press('Enter');
    await wb.answer('MTU', '');
    await wb.answer('Linux bridge name', '');
    await wb.answer('Labels', 'made-by=ui-test');
    await wb.answer('Driver options', '');
    const info = await eventually('the tsnet network to exist', () => docker.getNetwork(TS_NET).inspect().catch(() => undefined));
    assert.strictEqual(info.Driver, driver, 'created with the tsnet driver');
    const st = await tsnetNetwork(info.Id);
    assert.ok(hostLink(st.bridge), `ip link shows the bridge ${st.bridge}`);
    const row = await wb.waitRow(networks, [TS_NET, `tsnet (${st.bridge})`]);
    assert.match(await row.innerText(), new RegExp(`tsnet \\(${st.bridge}\\) · 10\\.213\\.7\\.0/24 · 0 containers`));
    await wb.notification(`created network "${TS_NET}" (${driver})`).waitFor();
  });

  it('shows containers on the tsnet network with host-side veth, MAC and port maps, a picked port too', async function () {
    this.timeout(120_000);
    const tsPort = await freePort();
    // -p 127.0.0.1:tsPort:80 -p 8080 (tsnet picks the host port)
    const web = await docker.createContainer({
      Image: IMAGE, name: TS_WEB, Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {}, '8080/tcp': {} },
      HostConfig: { NetworkMode: TS_NET, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(tsPort) }], '8080/tcp': [{ HostIp: '', HostPort: '' }] } },
    });
    await web.start();
    const plain = await docker.createContainer({ Image: IMAGE, name: TS_PLAIN, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: TS_NET } });
    await plain.start();
    const netId = (await docker.getNetwork(TS_NET).inspect()).Id;
    const st = await tsnetNetwork(netId, (n) => n.endpoints.length === 2 && n.endpoints.some((e) => e.ports.some((p) => p.containerPort === 8080)));
    const byContainer: Record<string, EndpointStatus> = {};
    for (const name of [TS_WEB, TS_PLAIN]) {
      const c = await docker.getContainer(name).inspect();
      const dep = c.NetworkSettings.Networks[TS_NET];
      const ep = st.endpoints.find((e) => e.id === dep.EndpointID);
      assert.ok(ep, `the driver's status lists ${name}'s endpoint`);
      assert.strictEqual(ep.mac, dep.MacAddress, `${name}: MAC as Docker has it`);
      assert.strictEqual(ep.ipv4?.split('/')[0], dep.IPAddress, `${name}: address as Docker has it`);
      const link = hostLink(ep.hostVeth);
      assert.ok(link, `ip link shows ${name}'s host-side veth ${ep.hostVeth}`);
      assert.strictEqual(link.master, st.bridge, `${ep.hostVeth} is a port of ${st.bridge}`);
      byContainer[name] = ep;
      const row = await wb.waitRow(networks, [name, dep.IPAddress, ep.hostVeth]);
      assert.strictEqual(await row.locator('.label-name').first().innerText(), name);
      assert.strictEqual((await row.locator('.label-description').first().innerText()).trim(), `${dep.IPAddress} · ${dep.MacAddress} · veth ${ep.hostVeth} · running`);
    }
    await wb.waitRow(networks, [TS_NET, `tsnet (${st.bridge})`, '2 containers']);
    const fixed = byContainer[TS_WEB].ports.find((p) => p.containerPort === 80);
    assert.ok(fixed && fixed.hostPort === tsPort && fixed.hostIP === '127.0.0.1' && !fixed.picked, JSON.stringify(byContainer[TS_WEB].ports));
    const picked = byContainer[TS_WEB].ports.filter((p) => p.containerPort === 8080);
    assert.ok(picked.length > 0 && picked.every((p) => p.picked && p.hostPort > 0), `tsnet picked the port of -p 8080: ${JSON.stringify(picked)}`);
    const dockerSays = (await docker.getContainer(TS_WEB).inspect()).NetworkSettings.Ports['8080/tcp'] ?? [];
    for (const b of dockerSays) if (b.HostPort) assert.strictEqual(Number(b.HostPort), picked[0].hostPort, `Docker and tsnet agree on the picked port: ${JSON.stringify(dockerSays)}`);
    const fixedRow = await wb.waitRow(networks, [`127.0.0.1:${tsPort} → 80/tcp`]);
    assert.match(await fixedRow.innerText(), /HTTP/);
    const pickedRow = await wb.waitRow(networks, [`:${picked[0].hostPort} → 8080/tcp`]);
    assert.match(await pickedRow.innerText(), /port picked by tsnet/);
    await wb.screenshot('tsnet-tree');
  });
});
