import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { buildGraph } from '../../docker/model';
import type { DockerContainer, DockerNetwork } from '../../docker/docker-types';
import type { ContainerModel, EndpointModel, NetworkGraph, NetworkModel } from '../../docker/model-types';
import { buildScene, hostAddress, ids, textWidth, type TopologyScene } from '../../topology/layout-input';
import { nodeForRef } from '../../topology/refs';
import { syntheticGraph } from '../../topology/synthetic-graph';

// ---------------------------------------------------------------- a graph built by hand
const hex = (c: string) => c.repeat(64);
function network(name: string, c: string, extra: Partial<NetworkModel> = {}): NetworkModel {
  return {
    id: hex(c), name, driver: 'bridge', scope: 'local', internal: false, ipv6: false, builtin: false, tsnet: false,
    bridge: `br-${hex(c).slice(0, 12)}`, subnets: [{ family: 4, subnet: `10.9.${c.charCodeAt(0) % 200}.0/24`, gateway: `10.9.${c.charCodeAt(0) % 200}.1` }],
    options: {}, labels: {}, endpointIds: [], ...extra,
  };
}
function container(name: string, c: string, extra: Partial<ContainerModel> = {}): ContainerModel {
  return {
    id: hex(c), name, image: 'tsnet-test-busybox:latest', state: 'running', status: 'Up', networkMode: 'default',
    namespaceId: hex(c), endpointIds: [], ports: [], labels: {}, ...extra,
  };
}
function endpoint(c: string, net: NetworkModel, ctr: ContainerModel, ipv4: string, extra: Partial<EndpointModel> = {}): EndpointModel {
  const ep: EndpointModel = { id: hex(c), networkId: net.id, containerId: ctr.id, ipv4, ipv4PrefixLength: 24, aliases: [], ifname: 'eth0', ...extra };
  net.endpointIds.push(ep.id);
  ctr.endpointIds.push(ep.id);
  return ep;
}

/** Two networks (one tsnet), a pod of two, a lone container on both networks, three published ports, a stopped one. */
function handGraph(): NetworkGraph {
  const front = network('tt-front', 'a', { tsnet: true, driver: 'tsnet', bridge: 'tsn-aaaaaaaaaaaa' });
  const back = network('tt-back', 'b');
  const web = container('web', '1', { ports: [
    { proto: 'tcp', hostIP: '0.0.0.0', hostPort: 8080, containerPort: 80 },
    { proto: 'tcp', hostIP: '::', hostPort: 8080, containerPort: 80 },
    { proto: 'udp', hostIP: '127.0.0.1', hostPort: 5353, containerPort: 53, picked: true },
  ] });
  const side = container('web-side', '2', { networkMode: `container:${hex('1')}`, sharesNamespaceWith: hex('1'), namespaceId: hex('1') });
  const db = container('db', '3', { ports: [{ proto: 'tcp', hostIP: '0.0.0.0', hostPort: 15432, containerPort: 5432 }] });
  const stopped = container('old', '4', { state: 'exited' });
  const endpoints = [
    endpoint('e', front, web, '10.9.97.2', { hostVeth: 'tsveeeeeeeeeee' }),
    endpoint('f', back, db, '10.9.98.2'),
    endpoint('d', front, db, '10.9.97.3', { ifname: 'eth1', hostVeth: 'tsvddddddddddd' }),
    endpoint(`${hex('4')}/${back.id}`.slice(0, 1), back, stopped, '', { id: `${hex('4')}/${back.id}`, ipv4: undefined, ifname: undefined, active: false }),
  ];
  return {
    host: { engineVersion: '20.10.24', tsnetStatus: true, tsnetVersion: '0.1.0' },
    networks: [back, front],
    containers: [stopped, side, db, web],
    endpoints,
    namespaces: [
      { id: hex('1'), ownerId: hex('1'), memberIds: [hex('1'), hex('2')] },
      { id: hex('3'), ownerId: hex('3'), memberIds: [hex('3')] },
      { id: hex('4'), ownerId: hex('4'), memberIds: [hex('4')] },
    ],
  };
}

const kinds = (s: TopologyScene, kind: string) => Object.keys(s.nodes).filter((id) => s.nodes[id].kind === kind);
const elkNode = (s: TopologyScene, id: string) => s.elk.children!.find((c) => c.id === id)!;
const texts = (s: TopologyScene, id: string) => s.nodes[id].parts.flatMap((p) => p.texts.map((t) => t.text));

describe('topology scene (NetworkGraph → ELK input)', () => {
  const g = handGraph();
  const scene = buildScene(g);

  it('draws one bridge per network, one node per namespace (a pod once), one per host address:port', () => {
    assert.deepStrictEqual(kinds(scene, 'network'), [ids.network(hex('b')), ids.network(hex('a'))], 'sorted by name: tt-back, tt-front');
    assert.deepStrictEqual(kinds(scene, 'namespace').sort(), [hex('1'), hex('3'), hex('4')].map(ids.namespace).sort());
    const hp = (ip: string, port: number, proto: string) => ids.hostPort(ip, port, proto);
    assert.deepStrictEqual(kinds(scene, 'hostPort').sort(), [hp('0.0.0.0', 15432, 'tcp'), hp('0.0.0.0', 8080, 'tcp'), hp('127.0.0.1', 5353, 'udp'), hp('::', 8080, 'tcp')].sort());
    assert.deepStrictEqual(scene.stats, { networks: 2, namespaces: 3, containers: 4, endpoints: 4, hostPorts: 4, remoteHosts: 0 });
  });

  it('shows a bridge with its name, subnet and gateway', () => {
    assert.deepStrictEqual(texts(scene, ids.network(hex('a'))), ['tt-front', 'bridge tsn-aaaaaaaaaaaa · tsnet', '10.9.97.0/24 gw 10.9.97.1']);
    assert.match(scene.nodes[ids.network(hex('a'))].parts[0].cls, /\btsnet\b/);
  });

  it('draws a pod as one namespace holding both containers, the owner first, with the interfaces and ports as rows', () => {
    const pod = scene.nodes[ids.namespace(hex('1'))];
    assert.match(pod.parts[0].cls, /\bpod\b/);
    const members = pod.parts.filter((p) => p.cls.startsWith('container'));
    assert.deepStrictEqual(members.map((p) => p.ref), [{ kind: 'container', id: hex('1') }, { kind: 'container', id: hex('2') }]);
    const frame = pod.parts[0];
    for (const p of members) assert.ok(p.x > 0 && p.x + p.w < frame.w && p.y > 0 && p.y + p.h < frame.h, 'members are drawn inside the pod');
    const rows = pod.parts.filter((p) => p.cls.startsWith('iface') || p.cls.startsWith('cport'));
    assert.deepStrictEqual(rows.map((r) => r.texts[0].text), ['eth0 10.9.97.2/24', '53/udp', '80/tcp']);
    const ports = elkNode(scene, ids.namespace(hex('1'))).ports!;
    assert.deepStrictEqual(ports.map((p) => p.id), [ids.iface(hex('e')), ids.containerPort(hex('1'), 53, 'udp'), ids.containerPort(hex('1'), 80, 'tcp')]);
    rows.forEach((row, i) => {
      const port = ports[i];
      assert.strictEqual(port.x! + port.width!, 0, 'ports sit on the west side');
      assert.ok(port.y! > row.y && port.y! + port.height! < row.y + row.h, 'each port is level with its row');
    });
  });

  it('orders a namespace\'s interfaces by name (eth0 before eth1)', () => {
    const db = scene.nodes[ids.namespace(hex('3'))];
    assert.deepStrictEqual(db.parts.filter((p) => p.cls.startsWith('iface')).map((p) => p.texts[0].text), ['eth0 10.9.98.2/24', 'eth1 10.9.97.3/24']);
    assert.deepStrictEqual(db.networkIds, [hex('b'), hex('a')], 'in the order of its interfaces');
  });

  it('links each interface to its bridge with a veth edge, labelled with the host-side name when known', () => {
    const veth = (ep: string) => scene.elk.edges!.find((e) => e.id === ids.veth(hex(ep)))!;
    assert.deepStrictEqual(veth('e').sources, [ids.bridgePort(hex('a'))]);
    assert.deepStrictEqual(veth('e').targets, [ids.iface(hex('e'))]);
    assert.deepStrictEqual(veth('e').labels!.map((l) => l.text), ['tsveeeeeeeeeee']);
    assert.deepStrictEqual(veth('f').labels, [], 'Docker\'s bridge driver does not say its veth names');
    assert.strictEqual(scene.edges[ids.veth(hex('e'))].kind, 'veth');
    assert.deepStrictEqual(scene.edges[ids.veth(hex('e'))].ref, { kind: 'endpoint', id: hex('e') });
  });

  it('draws a stopped container\'s attachment as an attachment, not a veth', () => {
    const id = ids.veth(`${hex('4')}/${hex('b')}`);
    assert.strictEqual(scene.edges[id].kind, 'attachment');
    const old = scene.nodes[ids.namespace(hex('4'))];
    assert.match(old.parts[0].cls, /\bstopped\b/);
    assert.deepStrictEqual(old.parts.filter((p) => p.cls.startsWith('iface')).map((p) => p.texts[0].text), ['- (not running)']);
  });

  it('draws each published port as an edge from host address:port to the container port', () => {
    const publish = scene.elk.edges!.filter((e) => scene.edges[e.id].kind === 'publish').map((e) => `${e.sources[0]} -> ${e.targets[0]}`);
    const out = (ip: string, port: number, proto: string) => ids.hostPortOut(ip, port, proto);
    assert.deepStrictEqual(publish.sort(), [
      `${out('0.0.0.0', 15432, 'tcp')} -> ${ids.containerPort(hex('3'), 5432, 'tcp')}`,
      `${out('0.0.0.0', 8080, 'tcp')} -> ${ids.containerPort(hex('1'), 80, 'tcp')}`,
      `${out('127.0.0.1', 5353, 'udp')} -> ${ids.containerPort(hex('1'), 53, 'udp')}`,
      `${out('::', 8080, 'tcp')} -> ${ids.containerPort(hex('1'), 80, 'tcp')}`,
    ].sort());
    assert.deepStrictEqual(texts(scene, ids.hostPort('::', 8080, 'tcp')), ['[::]:8080/tcp']);
    assert.strictEqual(hostAddress('', 80, 'tcp'), '0.0.0.0:80/tcp');
  });

  it('puts the host side (bridges, host ports) in the first layer and namespaces in the last', () => {
    for (const c of scene.elk.children!) {
      const want = scene.nodes[c.id].kind === 'namespace' ? 'LAST' : 'FIRST';
      assert.strictEqual(c.layoutOptions!['elk.layered.layering.layerConstraint'], want, c.id);
    }
  });

  it('refers only to nodes and ports that exist, and sizes every node to its text', () => {
    const ports = new Set(scene.elk.children!.flatMap((c) => (c.ports ?? []).map((p) => p.id)));
    for (const e of scene.elk.edges!) {
      assert.ok(ports.has(e.sources[0]), `source ${e.sources[0]}`);
      assert.ok(ports.has(e.targets[0]), `target ${e.targets[0]}`);
      assert.ok(scene.edges[e.id], `edge item ${e.id}`);
    }
    for (const c of scene.elk.children!) {
      for (const p of scene.nodes[c.id].parts) {
        for (const t of p.texts) assert.ok(t.x + textWidth(t.text, t.cls) <= c.width! + 0.5, `${JSON.stringify(t.text)} fits in ${c.id}`);
      }
    }
  });

  it('is deterministic: the same graph in any order gives the same scene', () => {
    const shuffled: NetworkGraph = { ...g, networks: [...g.networks].reverse(), containers: [...g.containers].reverse(), endpoints: [...g.endpoints].reverse(), namespaces: [...g.namespaces].reverse() };
    assert.deepStrictEqual(buildScene(shuffled), scene);
  });

  it('orders namespaces by the first network they are on, so one new container does not reorder the others', () => {
    const order = (s: TopologyScene) => s.elk.children!.map((c) => c.id);
    const before = order(scene);
    const g2 = handGraph();
    const extra = container('aaa-new', '5');
    g2.containers.push(extra);
    g2.endpoints.push(endpoint('9', g2.networks.find((n) => n.name === 'tt-front')!, extra, '10.9.97.9'));
    const after = order(buildScene(g2));
    assert.deepStrictEqual(after.filter((id) => before.includes(id)), before, 'existing nodes keep their order');
    assert.ok(after.includes(ids.namespace(hex('5'))));
    // Positions given to ELK carry that order within each layer.
    const s2 = buildScene(g2);
    const ys = s2.elk.children!.filter((c) => s2.nodes[c.id].kind === 'namespace').map((c) => c.y!);
    assert.deepStrictEqual(ys, [...ys].sort((a, b) => a - b));
  });

  it('filters by network: only those bridges, the namespaces on them and their ports', () => {
    const s = buildScene(g, { networkIds: [hex('b')] });
    assert.deepStrictEqual(kinds(s, 'network'), [ids.network(hex('b'))]);
    assert.deepStrictEqual(kinds(s, 'namespace').sort(), [ids.namespace(hex('3')), ids.namespace(hex('4'))].sort());
    assert.ok(!s.elk.edges!.some((e) => e.id === ids.veth(hex('d'))), 'db\'s interface on the other network is left out');
    assert.deepStrictEqual(s.networks.map((n) => n.name), ['tt-back', 'tt-front'], 'the filter list still offers every network');
  });

  it('maps what the picture points at to the tree\'s command arguments', () => {
    assert.deepStrictEqual(nodeForRef(g, { kind: 'network', id: hex('a') }), { kind: 'network', network: g.networks[1] });
    assert.deepStrictEqual(nodeForRef(g, { kind: 'container', id: hex('2') }), { kind: 'container', container: g.containers[1] });
    const ep = nodeForRef(g, { kind: 'endpoint', id: hex('d') });
    assert.ok(ep && ep.kind === 'container');
    assert.strictEqual(ep.container.name, 'db');
    assert.strictEqual(ep.network?.name, 'tt-front');
    assert.strictEqual(nodeForRef(g, { kind: 'container', id: 'gone' }), undefined);
  });
});

describe('topology scene from data captured from a real engine', () => {
  const FIXTURES = path.resolve(__dirname, '../../../src/test/fixtures');
  const load = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
  const g = buildGraph(load<DockerNetwork[]>('networks.json'), load<DockerContainer[]>('containers.json'), undefined, { engineVersion: '20.10.24' });
  const scene = buildScene(g);
  const ctr = (name: string) => g.containers.find((c) => c.name === name)!;

  it('draws tstx-fx-web and tstx-fx-side as one pod with both interfaces', () => {
    const pod = scene.nodes[ids.namespace(ctr('tstx-fx-web').namespaceId)];
    assert.match(pod.parts[0].cls, /\bpod\b/);
    assert.deepStrictEqual(pod.parts.filter((p) => p.cls.startsWith('container')).map((p) => p.texts[0].text), ['tstx-fx-web', 'tstx-fx-side']);
    const ifaces = pod.parts.filter((p) => p.cls.startsWith('iface')).map((p) => p.texts[0].text);
    assert.ok(ifaces.some((t) => t.includes('10.231.1.10/24')), ifaces.join(', '));
    assert.strictEqual(ifaces.length, 2);
    assert.strictEqual(scene.nodes[ids.namespace(ctr('tstx-fx-side').namespaceId)], pod);
  });

  it('draws every published port of the fixture as a host port node with an edge', () => {
    const hostPorts = kinds(scene, 'hostPort').map((id) => texts(scene, id)[0]).sort();
    for (const want of ['127.0.0.1:18480/tcp', '0.0.0.0:18481/tcp', '0.0.0.0:18482/udp', '0.0.0.0:18483/tcp']) assert.ok(hostPorts.includes(want), `${want} in ${hostPorts.join(', ')}`);
    const publish = Object.values(scene.edges).filter((e) => e.kind === 'publish').length;
    assert.strictEqual(publish, hostPorts.length);
  });

  it('draws Docker\'s default bridge as docker0', () => {
    const bridge = g.networks.find((n) => n.name === 'bridge')!;
    assert.ok(texts(scene, ids.network(bridge.id)).includes('bridge docker0 · bridge'));
  });
});

describe('topology layout with ELK (the webview\'s layout engine, run here in Node)', function () {
  this.timeout(60_000);
  const ELK = require('elkjs/lib/elk.bundled.js') as new () => { layout(g: ElkNode): Promise<ElkNode> };

  it('keeps every existing node in the same order and column when a container starts', async () => {
    const elk = new ELK();
    const g = syntheticGraph(4, 20);
    const before = await elk.layout(buildScene(g).elk);
    const g2 = syntheticGraph(4, 20);
    const extra = { ...g2.containers[3], id: 'e'.repeat(64), name: 'ctr-0003-b', namespaceId: 'e'.repeat(64), endpointIds: [] as string[], ports: [] };
    g2.containers.push(extra);
    g2.endpoints.push({ id: 'd'.repeat(64), networkId: g2.networks[3].id, containerId: extra.id, ipv4: '10.100.3.99', aliases: [], ifname: 'eth0' });
    const after = await elk.layout(buildScene(g2).elk);
    const byY = (l: ElkNode) => [...l.children!].sort((a, b) => a.y! - b.y! || a.x! - b.x!).map((c) => c.id);
    const old = byY(before);
    assert.deepStrictEqual(byY(after).filter((id) => old.includes(id)), old);
    // Columns stay: the host side does not move sideways, the namespace column moves as one (when
    // the new veth needs one more routing track between them).
    const xs = (l: ElkNode, kind: 'ns' | 'host') => new Set(l.children!.filter((c) => c.id.startsWith('ns:') === (kind === 'ns')).map((c) => c.x));
    assert.deepStrictEqual(xs(after, 'ns').size, 1);
    assert.deepStrictEqual([...xs(after, 'host')].sort(), [...xs(before, 'host')].sort());
    // The bridges above the new namespace do not move at all.
    const yOf = (l: ElkNode, id: string) => l.children!.find((c) => c.id === id)!.y;
    assert.strictEqual(yOf(after, ids.network(g.networks[0].id)), yOf(before, ids.network(g.networks[0].id)));
  });

  it('lays out 50 networks and 500 containers with every edge routed', async () => {
    const scene = buildScene(syntheticGraph(50, 500));
    const out = await new ELK().layout(scene.elk);
    assert.strictEqual(out.children!.length, scene.elk.children!.length);
    assert.ok(out.edges!.every((e) => (e as { sections?: unknown[] }).sections?.length), 'every edge has a route');
  });
});
