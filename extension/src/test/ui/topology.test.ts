/**
 * The topology webview in a real VS Code (code-server) through headless Chromium, against the real
 * dockerd and the real tsnet driver the harness starts (scripts/test-ui.sh: TSNET_TEST_DRIVER,
 * TSNET_TEST_STATUS_SOCKET): two tsnet networks, a bridge network, a pod of two containers sharing
 * one namespace and three published ports (one programmed by tsnet). The picture is checked from
 * its DOM against what Docker, the driver's status API and the kernel have, the interactions are
 * exercised (clicking reveals the row in the tree), and screenshots go to
 * <repo>/test-artifacts/topology/. Every Docker object made here is named `tstt-*` and removed in
 * the after hook, also on failure.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Docker from 'dockerode';
import type { FrameLocator } from 'playwright-core';
import { fetchTsnetStatus } from '../../docker/tsnet-status';
import type { StatusReport } from '@tsnet/shared';
import { hostLink, requireEnv, Workbench } from './workbench';
import { eventually, freePort, removeObjectsNamed } from './docker-helpers';

const PREFIX = 'tstt-';
const IMAGE = 'tsnet-test-busybox:latest';
const NET_A = `${PREFIX}a`;
const NET_B = `${PREFIX}b`;
const NET_C = `${PREFIX}c`;
const WEB = `${PREFIX}web`;
const SIDE = `${PREFIX}side`;
const DB = `${PREFIX}db`;
const LATE = `${PREFIX}late`;
const SUBNETS: Record<string, string> = { [NET_A]: '10.214.1.0/24', [NET_B]: '10.214.2.0/24', [NET_C]: '10.214.3.0/24' };


const docker = new Docker();
const repo = path.resolve(__dirname, '../../../..');
const ARTIFACTS = path.join(repo, 'test-artifacts', 'topology');

const removeOurObjects = () => removeObjectsNamed(docker, PREFIX);

/** A network of the tsnet driver the harness runs (`tsnet`) or of Docker's bridge driver. */
async function createNetwork(name: string, tsnetDriver: string | undefined): Promise<{ id: string; driver: string }> {
  const n = await docker.createNetwork({
    Name: name, Driver: tsnetDriver ?? 'bridge', CheckDuplicate: true, Labels: { 'tsnet.test': 'topology' },
    IPAM: { Driver: 'default', Config: [{ Subnet: SUBNETS[name], Gateway: SUBNETS[name].replace(/0\/24$/, '1') }] },
  });
  return { id: n.id, driver: tsnetDriver ? 'tsnet' : 'bridge' };
}

interface Attached {
  endpointId: string;
  ip: string;
}

describe('tsnet topology webview in code-server (real dockerd)', function () {
  let wb: Workbench;
  let frame: FrameLocator;
  let tsnetDriver: string;
  let statusSocket: string;
  const status = async (): Promise<StatusReport> => {
    const r = await fetchTsnetStatus(statusSocket);
    if (!r.reachable) throw new Error(`the tsnet driver's status API does not answer: ${r.reason}`);
    return r.report;
  };
  const nets: Record<string, { id: string; driver: string }> = {};
  const ids: Record<string, string> = {};
  const ports: number[] = [];
  /** container name → network name → endpoint */
  const attached: Record<string, Record<string, Attached>> = {};

  const screenshot = async (name: string) => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await wb.page.mouse.move(5, 5);
    await wb.page.waitForTimeout(200);
    await wb.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  };
  const node = (id: string) => frame.locator(`#viewport [data-node-id="${id}"]`);
  const edge = (id: string) => frame.locator(`#viewport [data-edge-id="${id}"]`);
  const readyCount = async () => Number((await frame.locator('#topology').getAttribute('data-ready')) ?? 0);
  /** Waits for the picture to be drawn again after `action`. */
  const redrawn = async (action: () => Promise<unknown>, what: string) => {
    const before = await readyCount();
    await action();
    await eventually(`the picture redrawn after ${what}`, async () => (await readyCount()) > before, 15_000);
  };

  async function readAttachments(name: string): Promise<void> {
    const info = await docker.getContainer(ids[name]).inspect();
    attached[name] = {};
    for (const [netName, ep] of Object.entries(info.NetworkSettings.Networks)) attached[name][netName] = { endpointId: ep.EndpointID, ip: ep.IPAddress };
  }

  before(async function () {
    this.timeout(180_000);
    const url = requireEnv('CODE_SERVER_URL');
    tsnetDriver = requireEnv('TSNET_TEST_DRIVER');
    statusSocket = requireEnv('TSNET_TEST_STATUS_SOCKET');
    await docker.ping();
    await docker.getImage(IMAGE).inspect().catch(() => {
      throw new Error(`image ${IMAGE} is missing: bash scripts/make-test-image.sh`);
    });
    await removeOurObjects();
    nets[NET_A] = await createNetwork(NET_A, tsnetDriver);
    nets[NET_B] = await createNetwork(NET_B, tsnetDriver);
    nets[NET_C] = await createNetwork(NET_C, undefined);
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    // The pod: web publishes two ports on the bridge network C and joins A; side shares web's namespace.
    const web = await docker.createContainer({
      Image: IMAGE, name: WEB, Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {}, '8080/tcp': {} },
      HostConfig: { NetworkMode: NET_C, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(ports[0]) }], '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(ports[1]) }] } },
    });
    ids[WEB] = web.id;
    await docker.getNetwork(nets[NET_A].id).connect({ Container: web.id });
    await web.start();
    const side = await docker.createContainer({ Image: IMAGE, name: SIDE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: `container:${web.id}` } });
    ids[SIDE] = side.id;
    await side.start();
    // db publishes its port on the tsnet network B (the driver programs that map) and joins C.
    const db = await docker.createContainer({
      Image: IMAGE, name: DB, Cmd: ['sleep', '3600'], ExposedPorts: { '5432/tcp': {} },
      HostConfig: { NetworkMode: NET_B, PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: String(ports[2]) }] } },
    });
    ids[DB] = db.id;
    await docker.getNetwork(nets[NET_C].id).connect({ Container: db.id });
    await db.start();
    await readAttachments(WEB);
    await readAttachments(DB);
    wb = await Workbench.open(url, ARTIFACTS);
  });

  after(async function () {
    this.timeout(60_000);
    try {
      if (wb && this.currentTest?.state === 'failed') await screenshot('failure').catch(() => undefined);
      await wb?.close();
    } finally {
      await removeOurObjects();
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await screenshot(`failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
    }
  });

  it('opens from the command palette and draws our networks, the pod and the ports', async function () {
    this.timeout(120_000);
    await wb.openTsnetView();
    await wb.runCommand('tsnet: Show Topology');
    frame = wb.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
    await frame.locator('#topology').waitFor({ timeout: 60_000 });
    await eventually('our three networks drawn', async () => (await node(`net:${nets[NET_C].id}`).count()) > 0 && (await node(`ns:${ids[DB]}`).count()) > 0, 30_000);
  });

  it('draws each bridge with its name, subnet and gateway, as Docker and the kernel have them', async () => {
    for (const name of [NET_A, NET_B, NET_C]) {
      const info = await docker.getNetwork(nets[name].id).inspect();
      const text = (await node(`net:${nets[name].id}`).textContent()) ?? '';
      assert.ok(text.includes(name), text);
      assert.ok(text.includes(`${SUBNETS[name]} gw ${info.IPAM?.Config?.[0]?.Gateway}`), text);
      const bridge = /bridge (\S+)/.exec(text)?.[1];
      assert.ok(bridge, `a bridge name in ${text}`);
      if (nets[name].driver === 'bridge') assert.strictEqual(bridge, info.Options?.['com.docker.network.bridge.name'] ?? `br-${nets[name].id.slice(0, 12)}`);
      else {
        assert.strictEqual(info.Driver, tsnetDriver);
        const st = (await status()).networks.find((n) => n.id === nets[name].id);
        assert.ok(st, `the driver's status lists ${name}`);
        assert.strictEqual(bridge, st.bridge, `the bridge the driver made for ${name}`);
        assert.match(text, /tsnet/, `${name} is drawn as a tsnet network: ${text}`);
      }
      assert.ok(fs.existsSync(`/sys/class/net/${bridge}/bridge`), `bridge ${bridge} exists in the kernel`);
    }
  });

  it('draws web and side inside one namespace (a pod) with its interfaces and ports', async () => {
    const pod = node(`ns:${ids[WEB]}`);
    assert.match((await pod.locator('.part').first().getAttribute('class')) ?? '', /\bpod\b/);
    const members = await pod.locator('[data-ref-kind="container"].container').allTextContents();
    assert.strictEqual(members.length, 2);
    assert.ok(members[0].startsWith(WEB) && members[1].startsWith(SIDE), members.join(' | '));
    assert.strictEqual(await node(`ns:${ids[SIDE]}`).count(), 0, 'side has no namespace node of its own');
    const rows = (await pod.locator('.iface').allTextContents()).join(' | ');
    for (const netName of [NET_A, NET_C]) assert.ok(rows.includes(attached[WEB][netName].ip), `${attached[WEB][netName].ip} in ${rows}`);
    const cports = (await pod.locator('.cport').allTextContents()).join(' | ');
    assert.ok(cports.includes('80/tcp') && cports.includes('8080/tcp'), cports);
  });

  it('links every interface to its bridge with a veth edge (host-side name when the driver says it)', async () => {
    for (const [ctr, byNet] of Object.entries(attached)) {
      const owner = ids[ctr];
      for (const [netName, ep] of Object.entries(byNet)) {
        const e = edge(`veth:${ep.endpointId}`);
        assert.strictEqual(await e.count(), 1, `veth edge of ${ctr} on ${netName}`);
        assert.strictEqual(await e.getAttribute('data-source'), `net:${nets[netName].id}:out`);
        assert.strictEqual(await e.getAttribute('data-target'), `if:${ep.endpointId}`);
        assert.strictEqual(await node(`ns:${owner}`).locator(`[data-ref-kind="endpoint"][data-ref-id="${ep.endpointId}"]`).count(), 1);
        const label = (await e.locator('.edge-label').allTextContents())[0];
        if (label) assert.ok(fs.existsSync(`/sys/class/net/${label}`), `host-side veth ${label} exists in the kernel`);
        if (nets[netName].driver === 'tsnet') {
          const st = (await status()).networks.find((n) => n.id === nets[netName].id)?.endpoints.find((x) => x.id === ep.endpointId);
          assert.ok(st, `the driver's status lists ${ctr}'s endpoint on ${netName}`);
          assert.strictEqual(label, st.hostVeth, `a tsnet endpoint shows its host-side veth (${ctr} on ${netName})`);
          const link = hostLink(label);
          assert.ok(link, `ip link shows ${label}`);
          assert.strictEqual(link.master, (await status()).networks.find((n) => n.id === nets[netName].id)?.bridge, `${label} is a port of the network's bridge`);
        }
      }
    }
  });

  it('draws the three published ports as edges from host address:port to the container port', async () => {
    const want = [
      [ports[0], ids[WEB], 80],
      [ports[1], ids[WEB], 8080],
      [ports[2], ids[DB], 5432],
    ] as const;
    for (const [hostPort, ctr, ctrPort] of want) {
      const hp = node(`hp:127.0.0.1:${hostPort}/tcp`);
      assert.strictEqual(((await hp.textContent()) ?? '').trim(), `127.0.0.1:${hostPort}/tcp`);
      const e = frame.locator(`#viewport .edge.publish[data-source="hp:127.0.0.1:${hostPort}/tcp:out"]`);
      assert.strictEqual(await e.count(), 1);
      assert.strictEqual(await e.getAttribute('data-target'), `cp:${ctr}:${ctrPort}/tcp`);
    }
    // db's map is on the tsnet network B: the driver programmed it, as its status says.
    const dbEp = (await status()).networks.find((n) => n.id === nets[NET_B].id)?.endpoints.find((x) => x.id === attached[DB][NET_B].endpointId);
    assert.ok(dbEp?.ports.some((p) => p.hostPort === ports[2] && p.hostIP === '127.0.0.1' && p.containerPort === 5432 && p.proto === 'tcp'), `the driver programmed db's 5432: ${JSON.stringify(dbEp?.ports)}`);
    // Docker shows no port map a remote driver made (that is what the status API is for); when it does, it agrees.
    const dbPorts = (await docker.getContainer(ids[DB]).inspect()).NetworkSettings.Ports?.['5432/tcp'] ?? [];
    for (const b of dbPorts) if (b.HostPort) assert.strictEqual(b.HostPort, String(ports[2]), JSON.stringify(dbPorts));
    await frame.locator('#zoom-fit').click();
    await screenshot('topology-full');
  });

  it('shows details on hover', async () => {
    await node(`net:${nets[NET_C].id}`).locator('.part').first().hover();
    const tip = frame.locator('#tooltip');
    await tip.waitFor({ state: 'visible' });
    assert.match((await tip.textContent()) ?? '', new RegExp(`network ${NET_C}[\\s\\S]*driver bridge`));
  });

  it('filters by network', async () => {
    await frame.locator('#filter-button').click();
    await redrawn(() => frame.locator(`input[data-network-id="${nets[NET_B].id}"]`).check(), 'filtering');
    assert.strictEqual(await frame.locator('#viewport .node.network').count(), 1);
    assert.strictEqual(await node(`net:${nets[NET_B].id}`).count(), 1);
    assert.strictEqual(await node(`ns:${ids[DB]}`).count(), 1, 'db is on the filtered network');
    assert.strictEqual(await node(`ns:${ids[WEB]}`).count(), 0, 'the pod is not');
    await screenshot('topology-filtered');
    await redrawn(() => frame.locator('#filter-all').click(), 'clearing the filter');
    await frame.locator('#filter-button').click();
    assert.strictEqual(await node(`ns:${ids[WEB]}`).count(), 1);
  });

  it('searches a container and an address', async () => {
    const search = frame.locator('#search');
    await search.fill(attached[WEB][NET_A].ip);
    await search.press('Enter');
    await eventually('the pod highlighted', async () => (await node(`ns:${ids[WEB]}`).getAttribute('class'))?.includes('hit-node'));
    assert.match((await frame.locator('#search-count').textContent()) ?? '', /1 of 1/);
    assert.ok(!(await node(`ns:${ids[DB]}`).getAttribute('class'))?.includes('hit-node'));
    await screenshot('topology-search-address');
    await search.fill(DB);
    await search.press('Enter');
    await eventually('db highlighted', async () => (await node(`ns:${ids[DB]}`).getAttribute('class'))?.includes('hit-node'));
    await search.press('Escape');
    assert.strictEqual(await frame.locator('#viewport .hit-node').count(), 0);
  });

  it('zooms with the wheel and the buttons, pans by dragging', async () => {
    const transform = () => frame.locator('#viewport').getAttribute('transform');
    const t0 = await transform();
    await frame.locator('#zoom-in').click();
    const t1 = await transform();
    assert.notStrictEqual(t1, t0);
    const box = (await frame.locator('#topology').boundingBox())!;
    await wb.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await wb.page.mouse.wheel(0, -300);
    await eventually('zoomed by the wheel', async () => (await transform()) !== t1, 5_000);
    const t2 = await transform();
    await wb.page.mouse.move(box.x + 30, box.y + box.height - 30);
    await wb.page.mouse.down();
    await wb.page.mouse.move(box.x + 130, box.y + box.height - 80, { steps: 5 });
    await wb.page.mouse.up();
    assert.notStrictEqual(await transform(), t2);
    await frame.locator('#zoom-fit').click();
  });

  it('reveals a clicked container, network or pod member in the tree (the row is selected)', async function () {
    this.timeout(90_000);
    const selectedRow = (title: string) => wb.page.locator('.part.sidebar .pane').filter({ has: wb.page.locator('.pane-header', { hasText: title }) })
      .locator('.monaco-list-row.selected');
    const part = node(`ns:${ids[DB]}`).locator('[data-ref-kind="container"].container').first();
    await part.click();
    await eventually('db selected', async () => (await part.getAttribute('class'))?.includes('selected'));
    // db's first attachment row in the Networks view: "tstt-db  <its IPv4> · <host veth> · running".
    await eventually('db selected in the Networks view', async () => (await selectedRow('Networks').allInnerTexts()).some((t) => t.includes(DB)), 15_000);
    const dbRow = (await selectedRow('Networks').allInnerTexts()).join(' | ');
    assert.ok(Object.values(attached[DB]).some((a) => dbRow.includes(a.ip)), `the selected row shows one of db's addresses: ${dbRow}`);
    await screenshot('topology-reveal-container');

    await node(`net:${nets[NET_A].id}`).locator('[data-ref-kind="network"]').first().click();
    await eventually('network A selected in the Networks view', async () => (await selectedRow('Networks').allInnerTexts()).some((t) => t.startsWith(NET_A) || t.includes(`${NET_A}\n`)), 15_000);
    assert.match((await selectedRow('Networks').allInnerTexts()).join(' | '), /tsnet \(/);
    await screenshot('topology-reveal-network');

    // side joined web's namespace: it has no attachment of its own, so the Namespaces view shows it.
    await node(`ns:${ids[WEB]}`).locator(`[data-ref-kind="container"][data-ref-id="${ids[SIDE]}"]`).first().click();
    await eventually('side selected in the Namespaces view', async () => (await selectedRow('Namespaces').allInnerTexts()).some((t) => t.includes(SIDE)), 15_000);
    await screenshot('topology-reveal-pod-member');
  });

  it('disconnects from the context menu, and the picture follows Docker', async function () {
    this.timeout(60_000);
    const ep = attached[DB][NET_C];
    const row = node(`ns:${ids[DB]}`).locator(`[data-ref-kind="endpoint"][data-ref-id="${ep.endpointId}"]`);
    await row.click({ button: 'right' });
    const menu = frame.locator('#menu');
    await menu.waitFor({ state: 'visible' });
    const items = await menu.locator('button').allTextContents();
    assert.ok(items.includes('Open shell') && items.includes('Inspect'), items.join(', '));
    await menu.locator('button', { hasText: 'Disconnect from this network' }).click();
    await eventually('db disconnected from network C in Docker', async () => !(await docker.getContainer(ids[DB]).inspect()).NetworkSettings.Networks[NET_C], 20_000);
    await eventually('the veth edge gone from the picture', async () => (await edge(`veth:${ep.endpointId}`).count()) === 0, 10_000);
    delete attached[DB][NET_C];
  });

  it('adds a started container within seconds without reordering the others', async function () {
    this.timeout(60_000);
    const order = async () => {
      const ys = await frame.locator('#viewport .node.namespace').evaluateAll((els) =>
        els.map((el) => ({ id: el.getAttribute('data-node-id') ?? '', y: Number(/translate\([^,]+,([^)]+)\)/.exec(el.getAttribute('transform') ?? '')?.[1]) })),
      );
      return ys.sort((a, b) => a.y - b.y).map((n) => n.id);
    };
    const before = await order();
    const late = await docker.createContainer({ Image: IMAGE, name: LATE, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: NET_A } });
    ids[LATE] = late.id;
    const t0 = Date.now();
    await late.start();
    await eventually('the new container drawn', async () => (await node(`ns:${late.id}`).count()) > 0, 15_000);
    const took = Date.now() - t0;
    console.log(`      the picture showed ${LATE} ${took} ms after docker start returned`);
    const after = await order();
    assert.deepStrictEqual(after.filter((id) => before.includes(id)), before.filter((id) => after.includes(id)), 'existing namespaces keep their order');
    await screenshot('topology-live-update');
  });

  it('is usable with the keyboard alone: every node and edge focusable and labelled, Tab/arrows between them, Enter for the actions', async function () {
    this.timeout(120_000);
    const kb = wb.page.keyboard;
    // Every node has a focusable, labelled frame; every edge is focusable and labelled.
    const unlabelled = await frame.locator('#viewport').evaluate((layer) => {
      const nodes = Array.from(layer.querySelectorAll('.node'));
      const edges = Array.from(layer.querySelectorAll('.edge'));
      const ok = (el: Element) => el.hasAttribute('tabindex') && !!el.getAttribute('aria-label')?.trim() && el.getAttribute('role') === 'button';
      return {
        nodes: nodes.length,
        edges: edges.length,
        nodesWithout: nodes.filter((n) => !Array.from(n.querySelectorAll('[tabindex]')).some(ok)).map((n) => n.getAttribute('data-node-id')),
        edgesWithout: edges.filter((e) => !ok(e)).map((e) => e.getAttribute('data-edge-id')),
        tabStops: layer.querySelectorAll('[tabindex="0"]').length,
      };
    });
    assert.ok(unlabelled.nodes > 5 && unlabelled.edges > 3, JSON.stringify(unlabelled));
    assert.deepStrictEqual([unlabelled.nodesWithout, unlabelled.edgesWithout], [[], []], 'every node and edge is focusable with a role and a label');
    assert.strictEqual(unlabelled.tabStops, 1, 'one tab stop for the picture (roving tabindex)');

    const focused = () => frame.locator('body').evaluate(() => {
      const el = document.activeElement;
      return { inPicture: !!el?.closest('#viewport'), label: el?.getAttribute('aria-label') ?? '', key: el?.getAttribute('data-part') ?? el?.getAttribute('data-edge-id') ?? el?.id ?? el?.tagName ?? '', role: el?.getAttribute('role') ?? '', box: el ? (({ x, y }) => ({ x, y }))(el.getBoundingClientRect()) : { x: 0, y: 0 } };
    });
    // Into the picture from the toolbar: the search box is focused, from there only keys.
    await wb.runCommand('tsnet: Show Topology');
    await frame.locator('#topology').waitFor();
    await frame.locator('#search').focus();
    await eventually('the search box focused', async () => (await focused()).key === 'search', 10_000);
    for (let i = 0; i < 15 && !(await focused()).inPicture; i++) await kb.press('Tab');
    const first = await focused();
    assert.ok(first.inPicture, `Tab from the toolbar reaches the picture (focus: ${first.key})`);
    assert.strictEqual(first.role, 'button');

    // Tab walks the items; the db container is reachable that way.
    const total = await frame.locator('#viewport [tabindex]').count();
    const seen = new Set<string>([first.key]);
    let at = first;
    for (let i = 0; i < total && !(at.label.includes(DB) && at.key.includes(`ns:${ids[DB]}`)); i++) {
      await kb.press('Tab');
      at = await focused();
      assert.ok(at.inPicture, `Tab left the picture before reaching ${DB} (after ${i + 1} presses)`);
      seen.add(at.key);
    }
    assert.ok(at.label.includes(DB), `reached ${DB} by Tab: ${at.label}`);
    // From the first item, three Tabs visit three more distinct items.
    await kb.press('Home');
    const walked = new Set<string>([(await focused()).key]);
    for (let i = 0; i < 3; i++) {
      await kb.press('Tab');
      walked.add((await focused()).key);
    }
    assert.strictEqual(walked.size, 4, `Tab moved through distinct items: ${[...walked].join(', ')}`);
    // Back to db's namespace by Tab.
    for (let i = 0; i <= total && !(await focused()).key.startsWith(`ns:${ids[DB]}#`); i++) await kb.press('Tab');
    at = await focused();
    assert.ok(at.key.startsWith(`ns:${ids[DB]}#`), `back at ${DB}: ${at.key}`);
    await screenshot('topology-keyboard-focus');

    // Arrow keys move to a neighbour in that direction.
    await kb.press('ArrowLeft');
    const left = await focused();
    assert.ok(left.inPicture && left.key !== at.key && left.box.x < at.box.x, `ArrowLeft moved left: ${at.key} (${at.box.x}) -> ${left.key} (${left.box.x})`);
    await kb.press('ArrowRight');
    const back = await focused();
    assert.ok(back.inPicture && back.box.x > left.box.x, `ArrowRight moved right: ${left.key} -> ${back.key}`);

    // Enter opens the context actions with focus on the first; Escape returns focus to the item.
    await kb.press('Enter');
    const menu = frame.locator('#menu');
    await menu.waitFor({ state: 'visible' });
    assert.strictEqual((await focused()).role, 'menuitem');
    await kb.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    assert.strictEqual((await focused()).key, back.key, 'focus is back on the item');

    // Enter → Inspect (arrow keys in the menu) → the item's JSON opens in an editor.
    // The container row itself (part #1 of its namespace): Home, then Tab until there.
    await kb.press('Home');
    for (let i = 0; i <= total; i++) {
      const f = await focused();
      if (f.key === `ns:${ids[DB]}#1`) break;
      if (!f.inPicture || i === total) throw new Error(`could not reach ${DB}'s container row by Tab (at ${f.key})`);
      await kb.press('Tab');
    }
    await kb.press('Enter');
    await menu.waitFor({ state: 'visible' });
    const items = await menu.locator('button').allTextContents();
    for (let i = 0; i < items.indexOf('Inspect'); i++) await kb.press('ArrowDown');
    assert.strictEqual(await frame.locator('#menu button:focus').textContent(), 'Inspect');
    await kb.press('Enter');
    await wb.page.locator('.tabs-container .tab', { hasText: `${DB}.json` }).first().waitFor({ timeout: 20_000 });
    await screenshot('topology-keyboard-inspect');
  });

  it('follows a high-contrast theme: contrast colours, no network hues, a visible focus ring', async function () {
    this.timeout(60_000);
    /** Picks an installed theme whose label matches (the filter text also searches the marketplace: its rows are ignored). */
    const pickTheme = async (filter: string, label: RegExp) => {
      // Preferences: Color Theme by its key binding (the palette's first match is the marketplace browser).
      await wb.page.keyboard.press('Escape');
      await wb.page.keyboard.press('Control+K');
      await wb.page.keyboard.press('Control+T');
      await wb.quickInput().locator('input.input').waitFor();
      await wb.quickInput().locator('input.input').fill(filter);
      const row = wb.quickInput().locator('.monaco-list-row').filter({ hasText: label }).first();
      await row.waitFor();
      await row.click();
    };
    await pickTheme('High Contrast', /^(?!.*Light).*High Contrast/);
    try {
      await wb.runCommand('tsnet: Show Topology');
      await eventually('the picture in high-contrast mode', async () => (await frame.locator('#topology').getAttribute('class'))?.includes('hc'), 15_000);
      const colours = await frame.locator('#viewport').evaluate((layer) => {
        const strokes = new Set(Array.from(layer.querySelectorAll('.edge .line')).map((el) => getComputedStyle(el).stroke));
        const fg = getComputedStyle(document.body).color;
        return { strokes: [...strokes], fg };
      });
      assert.deepStrictEqual(colours.strokes.filter((c) => c !== colours.fg && c !== 'none'), [], `edges drawn in the theme's foreground ${colours.fg}: ${colours.strokes.join(', ')}`);
      // The focus ring uses the theme's contrastActiveBorder.
      await frame.locator('#viewport [tabindex="0"]').first().focus();
      const ring = await frame.locator('#viewport :focus').evaluate((el) => {
        const shape = el.querySelector(':scope > rect') ?? el.querySelector('.line');
        const probe = document.createElement('span');
        probe.style.color = 'var(--vscode-contrastActiveBorder)';
        document.body.appendChild(probe);
        const want = getComputedStyle(probe).color;
        probe.remove();
        return { stroke: shape ? getComputedStyle(shape).stroke : '', want, defined: !!getComputedStyle(document.body).getPropertyValue('--vscode-contrastActiveBorder').trim() };
      });
      assert.ok(ring.defined, 'the high-contrast theme defines contrastActiveBorder');
      assert.strictEqual(ring.stroke, ring.want, 'the focused item is ringed in the theme\'s contrastActiveBorder');
      await screenshot('topology-high-contrast');
    } finally {
      await pickTheme('Dark', /Default Dark/).catch(() => undefined);
    }
  });

  it('shows live traffic between two containers on their veth edges and on their Networks rows within 5 s, and stops showing it when it stops', async function () {
    this.timeout(120_000);
    const treeRate = /↓[\d.]+ [KMG]?B\/s [\d.]+ pkt\/s ↑[\d.]+ [KMG]?B\/s [\d.]+ pkt\/s/;
    const lateRow = [LATE] as (string | RegExp)[];
    const bridgeRow = [NET_A, 'tsnet ('] as (string | RegExp)[];
    await wb.runCommand('tsnet: Show Topology');
    await frame.locator('#topology').waitFor();
    // The Networks view stays visible next to the picture: it samples the links on its own.
    const networksPane = await wb.expandSection('Networks');
    // late and web are both on the tsnet network A; late pings web (bounded: 60 packets, 6 s).
    const late = await docker.getContainer(ids[LATE]).inspect();
    const web = await docker.getContainer(ids[WEB]).inspect();
    const lateEp = late.NetworkSettings.Networks[NET_A].EndpointID;
    const webIp = web.NetworkSettings.Networks[NET_A].IPAddress;
    const lateEdge = edge(`veth:${lateEp}`);
    await lateEdge.waitFor({ state: 'attached' });
    assert.strictEqual(await lateEdge.getAttribute('data-rate-bps'), null, 'no traffic shown before there is any');
    for (const row of [lateRow, bridgeRow]) assert.doesNotMatch(await (await wb.waitRow(networksPane, row)).innerText(), treeRate, `no rate on the ${row[0]} row before there is traffic`);
    const driverPid = Number(requireEnv('TSNET_TEST_DRIVER_PID'));
    const cpu = () => fs.readFileSync(`/proc/${driverPid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((a, b) => a + Number(b), 0);
    const cpu0 = cpu();
    const idleStart = Date.now();
    // Also to the gateway (the bridge's own address), so the bridge's link carries traffic: frames
    // forwarded between two ports never pass through the bridge device's counters.
    const gateway = SUBNETS[NET_A].replace(/0\/24$/, '1');
    // Resolves once the ping runs, with `ended` (an async function returning the end itself would wait for it).
    const ping = async (target: string, count: number): Promise<{ ended: Promise<void> }> => {
      const exec = await docker.getContainer(ids[LATE]).exec({ Cmd: ['ping', '-c', String(count), '-i', '0.1', '-s', '1200', target], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      stream.resume();
      return { ended: new Promise<void>((resolve) => stream.on('end', () => resolve())) };
    };
    const asked = Date.now();
    const pings = await Promise.all([ping(webIp, 60), ping(gateway, 40)]);
    const ended = Promise.all(pings.map((p) => p.ended));
    // The 5 s count from when the traffic runs (Docker's exec start answered), not from asking for it.
    const t0 = Date.now();
    console.log(`      both pings running ${t0 - asked} ms after docker exec was asked`);
    const within5s = () => Math.max(500, 5_000 - (Date.now() - t0));
    const rowRate = async (row: (string | RegExp)[]) => {
      await wb.waitRow(networksPane, [...row, treeRate], within5s());
      console.log(`      traffic shown on the ${row[0]} row of the Networks view ${Date.now() - t0} ms after the ping started`);
    };
    await Promise.all([
      eventually('the rate on late\'s veth edge', async () => Number(await lateEdge.getAttribute('data-rate-bps')) > 1000, 5_000, 100)
        .then(() => console.log(`      traffic shown on the edge ${Date.now() - t0} ms after the ping started`)),
      rowRate(lateRow).then(() => rowRate(bridgeRow)),
    ]);
    assert.ok(Date.now() - t0 < 5_000 + 1_000, 'edge and rows showed the rate within 5 s (plus the last check)');
    const lateText = await wb.row(networksPane, ...lateRow).innerText();
    const lateIp = late.NetworkSettings.Networks[NET_A].IPAddress;
    assert.ok(lateText.includes(lateIp) && lateText.indexOf('↓') < lateText.indexOf(lateIp), `the rate leads late's description: ${lateText}`);
    assert.match((await lateEdge.locator('text.rate').textContent()) ?? '', /↓.*B\/s ↑.*B\/s/);
    assert.match((await lateEdge.getAttribute('aria-label')) ?? '', /traffic ↓/);
    const webEdge = edge(`veth:${web.NetworkSettings.Networks[NET_A].EndpointID}`);
    await eventually('the rate on web\'s veth edge too', async () => Number(await webEdge.getAttribute('data-rate-bps')) > 1000, 5_000, 100);
    await screenshot('topology-live-traffic');
    await ended;
    const stoppedAt = Date.now();
    await eventually('the rate gone after the traffic stopped', async () => (await lateEdge.getAttribute('data-rate-bps')) === null && (await lateEdge.locator('text.rate').count()) === 0, 8_000, 200);
    console.log(`      traffic label gone ${Date.now() - stoppedAt} ms after the ping ended`);
    for (const row of [lateRow, bridgeRow]) {
      await eventually(`the rate gone from the ${row[0]} row`, async () => !treeRate.test(await (await wb.waitRow(networksPane, row, 3_000)).innerText()), 8_000, 200);
    }
    console.log(`      rates gone from the Networks rows ${Date.now() - stoppedAt} ms after the ping ended`);
    // The driver's CPU while the picture polled it (2 s period) during this test.
    const ticks = cpu() - cpu0;
    const secs = (Date.now() - idleStart) / 1000;
    console.log(`      driver CPU with the topology open and polling: ${((ticks / 100 / secs) * 100).toFixed(2)} % of one core over ${secs.toFixed(1)} s (includes serving the ping's container)`);
  });
});
