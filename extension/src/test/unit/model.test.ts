import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { bridgeName, type StatusReport } from '@tsnet/shared';
import { buildGraph, isTsnetDriver, setTsnetDriverNames } from '../../docker/model';
import type { DockerContainer, DockerNetwork } from '../../docker/docker-types';
import type { NetworkGraph } from '../../docker/model-types';

const FIXTURES = path.resolve(__dirname, '../../../src/test/fixtures');
const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as T;

describe('buildGraph on data captured from a real engine', () => {
  const networks = load<DockerNetwork[]>('networks.json');
  const containers = load<DockerContainer[]>('containers.json');
  let g: NetworkGraph;
  before(() => {
    g = buildGraph(networks, containers, undefined, { engineVersion: '20.10.24' });
  });

  const net = (name: string) => g.networks.find((n) => n.name === name)!;
  const ctr = (name: string) => g.containers.find((c) => c.name === name)!;
  const eps = (containerName: string) => g.endpoints.filter((e) => e.containerId === ctr(containerName).id);

  it('has every network, marks the built-in ones and knows their bridges', () => {
    assert.deepStrictEqual(g.networks.map((n) => n.name), ['bridge', 'host', 'none', 'tstx-fx-app', 'tstx-fx-internal']);
    assert.deepStrictEqual(g.networks.filter((n) => n.builtin).map((n) => n.name), ['bridge', 'host', 'none']);
    assert.strictEqual(net('bridge').bridge, 'docker0');
    assert.strictEqual(net('tstx-fx-app').bridge, 'tstxfxapp0');
    assert.strictEqual(net('tstx-fx-internal').bridge, 'br-' + net('tstx-fx-internal').id.slice(0, 12));
    assert.strictEqual(net('host').bridge, undefined);
    assert.ok(g.networks.every((n) => !n.tsnet));
    assert.strictEqual(g.host.tsnetStatus, false);
    assert.strictEqual(g.host.engineVersion, '20.10.24');
  });

  it('reads subnets, gateway, IP range, options, labels, internal and IPv6', () => {
    const app = net('tstx-fx-app');
    assert.deepStrictEqual(app.subnets, [{ family: 4, subnet: '10.231.1.0/24', gateway: '10.231.1.1', ipRange: '10.231.1.128/25' }]);
    assert.strictEqual(app.options['com.docker.network.driver.mtu'], '1400');
    assert.deepStrictEqual(app.labels, { tier: 'front', owner: 'tsnet-tests' });
    assert.strictEqual(app.driver, 'bridge');
    assert.strictEqual(app.scope, 'local');
    const internal = net('tstx-fx-internal');
    assert.strictEqual(internal.internal, true);
    assert.strictEqual(internal.ipv6, true);
    assert.deepStrictEqual(internal.subnets.map((s) => [s.family, s.subnet]), [[4, '10.231.2.0/24'], [6, 'fd00:231:2::/64']]);
  });

  it('attaches a container to each of its networks with addresses, MAC and aliases', () => {
    const web = ctr('tstx-fx-web');
    assert.strictEqual(web.state, 'running');
    assert.strictEqual(web.image, 'tsnet-test-busybox:latest');
    assert.deepStrictEqual(web.labels, { role: 'web' });
    const byNet = new Map(eps('tstx-fx-web').map((e) => [g.networks.find((n) => n.id === e.networkId)!.name, e]));
    assert.deepStrictEqual([...byNet.keys()].sort(), ['tstx-fx-app', 'tstx-fx-internal']);
    const onApp = byNet.get('tstx-fx-app')!;
    assert.strictEqual(onApp.ipv4, '10.231.1.10');
    assert.strictEqual(onApp.ipv4PrefixLength, 24);
    assert.strictEqual(onApp.mac, '02:42:0a:e7:01:0a');
    assert.deepStrictEqual(onApp.aliases, ['web'], 'the short-ID alias Docker adds is left out');
    assert.strictEqual(onApp.active, true);
    assert.match(onApp.id, /^[0-9a-f]{64}$/);
    const onInternal = byNet.get('tstx-fx-internal')!;
    assert.strictEqual(onInternal.ipv4, '10.231.2.2');
    assert.strictEqual(onInternal.ipv6, 'fd00:231:2::2');
    assert.strictEqual(onInternal.ipv6PrefixLength, 64);
    assert.deepStrictEqual(onInternal.aliases, ['web-int']);
    assert.ok(net('tstx-fx-app').endpointIds.includes(onApp.id));
    assert.ok(net('tstx-fx-internal').endpointIds.includes(onInternal.id));
  });

  it('lists published ports, per host address, sorted by container port', () => {
    assert.deepStrictEqual(ctr('tstx-fx-web').ports, [
      { proto: 'tcp', hostIP: '127.0.0.1', hostPort: 18480, containerPort: 80 },
      { proto: 'udp', hostIP: '0.0.0.0', hostPort: 18482, containerPort: 5353 },
      { proto: 'udp', hostIP: '::', hostPort: 18482, containerPort: 5353 },
      { proto: 'tcp', hostIP: '0.0.0.0', hostPort: 18481, containerPort: 8443 },
      { proto: 'tcp', hostIP: '::', hostPort: 18481, containerPort: 8443 },
    ]);
    assert.deepStrictEqual(ctr('tstx-fx-default').ports.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerPort}/${p.proto}`), ['0.0.0.0:18483->8080/tcp', ':::18483->8080/tcp']);
  });

  it('puts a --network container:X container in X\'s namespace group, owner first', () => {
    const web = ctr('tstx-fx-web');
    const side = ctr('tstx-fx-side');
    assert.strictEqual(side.networkMode, `container:${web.id}`);
    assert.strictEqual(side.sharesNamespaceWith, web.id);
    assert.strictEqual(side.namespaceId, web.id);
    assert.deepStrictEqual(side.endpointIds, [], 'a namespace member has no endpoints of its own');
    const pod = g.namespaces.find((ns) => ns.ownerId === web.id)!;
    assert.deepStrictEqual(pod.memberIds, [web.id, side.id]);
    assert.match(pod.sandboxKey ?? '', /^\/var\/run\/docker\/netns\//);
    assert.strictEqual(g.namespaces[0], pod, 'shared namespaces come first');
    assert.strictEqual(g.namespaces.length, containers.length - 1);
  });

  it('keeps a created-but-not-started container attached without an endpoint', () => {
    const stopped = ctr('tstx-fx-stopped');
    assert.strictEqual(stopped.state, 'created');
    const [ep] = eps('tstx-fx-stopped');
    assert.strictEqual(ep.active, false);
    assert.strictEqual(ep.id, `${stopped.id}/${net('tstx-fx-app').id}`);
    assert.strictEqual(ep.ipv4, undefined);
    assert.ok(net('tstx-fx-app').endpointIds.includes(ep.id));
  });

  it('reads the default bridge and --network none attachments', () => {
    assert.strictEqual(ctr('tstx-fx-default').networkMode, 'default');
    assert.deepStrictEqual(eps('tstx-fx-default').map((e) => [e.ipv4, e.mac]), [['172.17.0.2', '02:42:ac:11:00:02']]);
    assert.deepStrictEqual(eps('tstx-fx-none').map((e) => e.networkId), [net('none').id]);
    assert.strictEqual(eps('tstx-fx-none')[0].ipv4, undefined);
  });

  it('does not change its inputs', () => {
    const before = JSON.stringify([networks, containers]);
    buildGraph(networks, containers);
    assert.strictEqual(JSON.stringify([networks, containers]), before);
  });
});

describe('buildGraph with the tsnet driver\'s status', () => {
  // The driver does not serve its status API yet: this report is written by hand against the
  // captured objects, with tstx-fx-app re-labelled as a tsnet network.
  const networks = load<DockerNetwork[]>('networks.json').map((n) => (n.Name === 'tstx-fx-app' ? { ...n, Driver: 'tsnet:latest', Options: { 'com.docker.network.driver.mtu': '1400' } } : n));
  const containers = load<DockerContainer[]>('containers.json');
  const app = networks.find((n) => n.Name === 'tstx-fx-app')!;
  const web = containers.find((c) => c.Name === '/tstx-fx-web')!;
  const epId = web.NetworkSettings!.Networks!['tstx-fx-app'].EndpointID!;
  const report: StatusReport = {
    version: '0.1.0', pid: 1, startedAt: '2026-11-29T00:00:00Z', uptimeSeconds: 5, pluginSocket: '/run/docker/plugins/tsnet.sock',
    stateDir: '/var/lib/tsnet', firewallBackend: 'nftables', calls: {}, warnings: [],
    networks: [{
      id: app.Id, bridge: 'tsn-' + app.Id.slice(0, 12), bridgeAdopted: false, present: true, createdAt: '2026-11-29T00:00:00Z',
      subnets: [{ family: 4, subnet: '10.231.1.0/24', gateway: '10.231.1.1' }],
      options: { icc: true, masquerade: true, internal: false, ipv6: false, mtu: 1400, containerIfacePrefix: 'eth', raw: {} },
      firewall: ['DOCKER-USER -i tsn-x -j ACCEPT'],
      endpoints: [{
        id: epId, networkId: app.Id, hostVeth: 'tsv' + epId.slice(0, 11), containerVeth: 'tsc' + epId.slice(0, 11), mac: '02:42:0a:e7:01:0a',
        ipv4: '10.231.1.10/24', joined: true, present: true,
        ports: [
          { proto: 'tcp', hostIP: '127.0.0.1', hostPort: 18480, containerIP: '10.231.1.10', containerPort: 80, picked: false },
          { proto: 'tcp', hostIP: '0.0.0.0', hostPort: 49153, containerIP: '10.231.1.10', containerPort: 9000, picked: true },
        ],
      }],
    }],
  };
  const g = buildGraph(networks, containers, report);

  it('marks tsnet networks and takes the bridge, its presence and firewall from the driver', () => {
    const n = g.networks.find((x) => x.name === 'tstx-fx-app')!;
    assert.strictEqual(n.tsnet, true);
    assert.strictEqual(n.bridge, 'tsn-' + app.Id.slice(0, 12));
    assert.strictEqual(n.bridgePresent, true);
    assert.deepStrictEqual(n.firewall, ['DOCKER-USER -i tsn-x -j ACCEPT']);
    assert.strictEqual(g.host.tsnetStatus, true);
    assert.strictEqual(g.host.tsnetVersion, '0.1.0');
    assert.strictEqual(g.host.tsnetDriverName, 'tsnet:latest');
  });

  it('adds the host-side veth and the port maps only the driver knows', () => {
    const ep = g.endpoints.find((e) => e.id === epId)!;
    assert.strictEqual(ep.hostVeth, 'tsv' + epId.slice(0, 11));
    const ports = g.containers.find((c) => c.id === web.Id)!.ports;
    const p80 = ports.find((p) => p.containerPort === 80)!;
    assert.strictEqual(p80.networkId, app.Id, 'a port Docker also reports is annotated, not doubled');
    assert.strictEqual(ports.filter((p) => p.containerPort === 80).length, 1);
    assert.deepStrictEqual(ports.find((p) => p.containerPort === 9000), { proto: 'tcp', hostIP: '0.0.0.0', hostPort: 49153, containerPort: 9000, networkId: app.Id, picked: true });
  });

  it('derives the default tsn- bridge name when the driver is not reachable', () => {
    const g2 = buildGraph(networks, containers);
    const n = g2.networks.find((x) => x.name === 'tstx-fx-app')!;
    assert.strictEqual(n.bridge, bridgeName(app.Id), 'the driver\'s naming scheme, from @tsnet/shared');
    assert.match(n.bridge ?? '', /^tsn-[0-9a-f]+$/);
    assert.strictEqual(n.bridgePresent, undefined);
    assert.strictEqual(g2.host.tsnetStatus, false);
  });
});

describe('isTsnetDriver', () => {
  it('recognises the driver under its plugin names', () => {
    for (const d of ['tsnet', 'tsnet:latest', 'example/tsnet:1.2']) assert.ok(isTsnetDriver(d), d);
    for (const d of ['bridge', 'tsnetx', 'my-tsnet', '', undefined]) assert.ok(!isTsnetDriver(d), String(d));
  });

  it('recognises the names of the tsnet.driverNames setting, tagged or not', () => {
    const names = ['tsnet', 'tsnetui'];
    for (const d of ['tsnetui', 'tsnetui:latest', 'example/tsnetui:2', 'tsnet:latest']) assert.ok(isTsnetDriver(d, names), d);
    for (const d of ['tsnetuix', 'bridge', 'tsnetbench']) assert.ok(!isTsnetDriver(d, names), d);
    try {
      setTsnetDriverNames(['tsnetci']);
      assert.ok(isTsnetDriver('tsnetci') && isTsnetDriver('tsnet') && !isTsnetDriver('tsnetui'));
      assert.ok(buildGraph([{ Id: 'a'.repeat(64), Name: 'n', Driver: 'tsnetci' } as DockerNetwork], []).networks[0].tsnet);
    } finally {
      setTsnetDriverNames(['tsnet']);
    }
  });
});
