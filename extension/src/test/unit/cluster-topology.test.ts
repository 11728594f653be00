/**
 * Multi-host networks in the graph, the tree's words and the topology: from a status document in
 * the driver's format (GET /status with `cluster`, checked by the same schema the status client
 * uses) to remote-host nodes with their blocks and VXLAN edges, laid out by ELK.
 */
import * as assert from 'assert';
import type { ElkNode } from 'elkjs/lib/elk-api';
import { parseStatusReport, type StatusReport } from '@tsnet/shared';
import { buildGraph } from '../../docker/model';
import { clusterSignature, networkCluster } from '../../docker/cluster-model';
import type { DockerContainer, DockerNetwork } from '../../docker/docker-types';
import { buildScene, ids } from '../../topology/layout-input';
import { trafficLinks } from '../../topology/traffic';
import { remoteHostDescription, remoteHostTooltip } from '../../tree/format';

const hex = (c: string) => c.repeat(64);
const MH = hex('a'); // multi-host 10.60.0.0/16, cluster "blue"
const MH2 = hex('b'); // multi-host 10.61.0.0/16, cluster "green"
const LOCAL = hex('c'); // a local tsnet network
const WEB = hex('1');

function dockerNetwork(id: string, name: string, subnet: string, options: Record<string, string>): DockerNetwork {
  return { Id: id, Name: name, Driver: 'tsnet', Scope: 'local', IPAM: { Driver: 'tsnet', Config: [{ Subnet: subnet, Gateway: subnet.replace(/0\.0\/16$/, '0.1').replace(/0\/24$/, '1') }] }, Options: options, Labels: {}, Containers: {} } as DockerNetwork;
}

const networks: DockerNetwork[] = [
  dockerNetwork(MH, 'blue', '10.60.0.0/16', { 'tsnet.cluster': 'blue' }),
  dockerNetwork(MH2, 'green', '10.61.0.0/16', { 'tsnet.cluster': 'green' }),
  dockerNetwork(LOCAL, 'local', '10.62.1.0/24', {}),
];
const containers: DockerContainer[] = [
  {
    Id: WEB, Name: '/web', Config: { Image: 'busybox', Labels: {} }, State: { Status: 'running', Running: true }, HostConfig: { NetworkMode: 'blue' },
    NetworkSettings: { Ports: {}, Networks: { blue: { NetworkID: MH, EndpointID: hex('e'), IPAddress: '10.60.0.2', IPPrefixLen: 16, MacAddress: '02:42:0a:3c:00:02', Aliases: [] } } },
  } as unknown as DockerContainer,
];

function statusNetwork(id: string, subnet: string, gateway: string, raw: Record<string, string>) {
  return {
    id, bridge: `tsn-${id.slice(0, 11)}`, bridgeAdopted: false, present: true, createdAt: '2026-12-01T00:00:00Z',
    subnets: [{ family: 4, subnet, gateway }],
    options: { icc: true, masquerade: true, internal: false, ipv6: false, containerIfacePrefix: 'eth', raw },
    firewall: [], endpoints: [],
  };
}

/** What Cluster.status() reports (driver/src/cluster/cluster.ts): this host .11, remote hosts .12 (two networks), .13 (blue, one block not routed yet), .14 (no block). */
const statusDocument: unknown = JSON.parse(JSON.stringify({
  version: '0.1.0', pid: 1, startedAt: '2026-12-01T00:00:00Z', uptimeSeconds: 9, pluginSocket: '/run/docker/plugins/tsnet.sock',
  stateDir: '/var/lib/tsnet', firewallBackend: 'nftables', calls: {}, warnings: [],
  networks: [
    statusNetwork(MH, '10.60.0.0/16', '10.60.0.1', { 'tsnet.cluster': 'blue' }),
    statusNetwork(MH2, '10.61.0.0/16', '10.61.0.1', { 'tsnet.cluster': 'green' }),
    statusNetwork(LOCAL, '10.62.1.0/24', '10.62.1.1', {}),
  ],
  cluster: {
    etcd: { endpoints: ['http://172.30.250.1:2379'], healthy: true },
    vxlan: { link: 'tsnet-vx', vni: 7476, port: 8472, mtu: 1450, containerMtu: 1450 },
    self: '172.30.250.11',
    hosts: [
      { address: '172.30.250.11', hostname: 'here', vtepMac: '02:74:ac:1e:fa:0b', leaseAgeSeconds: 9, blocks: ['10.60.0.0/26'], self: true },
      { address: '172.30.250.12', hostname: 'beta', vtepMac: '02:74:ac:1e:fa:0c', leaseAgeSeconds: 4, blocks: ['10.60.0.64/26', '10.61.0.0/26'], self: false },
      { address: '172.30.250.13', hostname: 'gamma', vtepMac: '02:74:ac:1e:fa:0d', leaseAgeSeconds: 2, blocks: ['10.60.1.0/26', '10.60.0.128/26'], self: false },
      { address: '172.30.250.14', hostname: 'idle', vtepMac: '02:74:ac:1e:fa:0e', leaseAgeSeconds: 1, blocks: [], self: false },
    ],
    pools: [{ cidr: '10.60.0.0/16', gateway: '10.60.0.1', ownBlocks: ['10.60.0.0/26'], allocated: 2 }, { cidr: '10.61.0.0/16', gateway: '10.61.0.1', ownBlocks: [], allocated: 1 }],
    remoteRoutes: ['10.60.0.128/26 via 172.30.250.13', '10.60.0.64/26 via 172.30.250.12', '10.61.0.0/26 via 172.30.250.12'],
    allowedVteps: ['172.30.250.11', '172.30.250.12', '172.30.250.13', '172.30.250.14'],
  },
}));

describe('multi-host networks: remote hosts from the driver\'s cluster status', () => {
  const report: StatusReport = parseStatusReport(statusDocument, 'test', '0.1.0');
  const g = buildGraph(networks, containers, report);
  const net = (id: string) => g.networks.find((n) => n.id === id)!;

  it('the status schema keeps the cluster (what the status client hands the graph builder)', () => {
    assert.strictEqual(report.cluster?.hosts.length, 4);
  });

  it('gives a multi-host network the remote hosts owning blocks in its subnet, with those blocks and their routes', () => {
    const c = net(MH).cluster!;
    assert.strictEqual(c.name, 'blue');
    assert.strictEqual(c.self, '172.30.250.11');
    assert.deepStrictEqual(c.ownBlocks, ['10.60.0.0/26']);
    assert.deepStrictEqual(c.vxlan, { link: 'tsnet-vx', vni: 7476, port: 8472, mtu: 1450 });
    assert.deepStrictEqual(
      c.remoteHosts.map((h) => [h.hostname, h.address, h.blocks, h.routes]),
      [
        ['beta', '172.30.250.12', ['10.60.0.64/26'], ['10.60.0.64/26']],
        ['gamma', '172.30.250.13', ['10.60.0.128/26', '10.60.1.0/26'], ['10.60.0.128/26']],
      ],
      'this host and a host with no block here are left out; a block of another pool is not listed',
    );
    assert.deepStrictEqual(net(MH2).cluster!.remoteHosts.map((h) => [h.hostname, h.blocks]), [['beta', ['10.61.0.0/26']]]);
  });

  it('a local network, a driver without etcd, and a non-tsnet network have no cluster', () => {
    assert.strictEqual(net(LOCAL).cluster, undefined);
    const noEtcd = buildGraph(networks, containers, { ...report, cluster: undefined });
    assert.ok(noEtcd.networks.every((n) => n.cluster === undefined));
    assert.strictEqual(networkCluster({ 'tsnet.cluster': 'x' }, undefined, [{ family: 4, subnet: '10.60.0.0/16' }], undefined), undefined);
    const bridge = buildGraph([{ ...networks[0], Driver: 'bridge' }], [], report);
    assert.strictEqual(bridge.networks[0].cluster, undefined);
  });

  it('draws each remote host once, outside the host, with its name, VTEP and blocks, linked through the VXLAN link', () => {
    const scene = buildScene(g);
    assert.strictEqual(scene.stats.remoteHosts, 2);
    const vx = scene.nodes[ids.vxlanDevice('tsnet-vx')];
    assert.strictEqual(vx.kind, 'vxlan');
    assert.deepStrictEqual(vx.networkIds.sort(), [MH, MH2].sort());
    assert.match(vx.parts[0].texts.map((t) => t.text).join('\n'), /VXLAN tsnet-vx\nVNI 7476 · UDP 8472 · MTU 1450\nVTEP 172\.30\.250\.11/);
    const beta = scene.nodes[ids.remoteHost('172.30.250.12')];
    assert.strictEqual(beta.kind, 'remoteHost');
    assert.deepStrictEqual(beta.parts[0].texts.map((t) => t.text), ['beta', 'remote host · VTEP 172.30.250.12', '10.60.0.64/26 blue', '10.61.0.0/26 green']);
    assert.deepStrictEqual(beta.networkIds, [MH, MH2]);
    const gamma = scene.nodes[ids.remoteHost('172.30.250.13')];
    assert.deepStrictEqual(gamma.parts[0].texts.map((t) => t.text).slice(2), ['10.60.0.128/26', '10.60.1.0/26 (no route)']);
    assert.strictEqual(scene.nodes[ids.remoteHost('172.30.250.14')], undefined, 'a host with no block on a shown network is not drawn');
    // Edges: each multi-host bridge → the VXLAN link; the link → each remote host.
    const edge = (id: string) => scene.elk.edges!.find((e) => e.id === id)!;
    assert.deepStrictEqual([edge(ids.route(MH)).sources, edge(ids.route(MH)).targets], [[ids.bridgePort(MH)], [ids.vxlanIn('tsnet-vx')]]);
    assert.strictEqual(scene.edges[ids.route(MH)].kind, 'route');
    assert.strictEqual(edge(ids.route(LOCAL)), undefined, 'a local network does not route to the VXLAN link');
    const tunnel = edge(ids.vxlan('172.30.250.12'));
    assert.deepStrictEqual([tunnel.sources, tunnel.targets], [[ids.vxlanOut('tsnet-vx')], [ids.remoteHostIn('172.30.250.12')]]);
    assert.strictEqual(tunnel.labels![0].text, '172.30.250.12');
    assert.strictEqual(scene.edges[ids.vxlan('172.30.250.12')].kind, 'tunnel');
    assert.match(scene.edges[ids.vxlan('172.30.250.13')].tip.join('\n'), /blue: routes 10\.60\.0\.128\/26/);
    // Every new node and edge says what it is (the renderer makes the frame's tip its aria label) and is searchable.
    for (const id of [ids.vxlanDevice('tsnet-vx'), ids.remoteHost('172.30.250.12'), ids.remoteHost('172.30.250.13')]) {
      assert.ok(scene.nodes[id].parts[0].tip.length > 1 && scene.nodes[id].parts[0].search.length > 0, id);
    }
    for (const id of [ids.route(MH), ids.route(MH2), ids.vxlan('172.30.250.12'), ids.vxlan('172.30.250.13')]) assert.ok(scene.edges[id].tip.length > 0, id);
    // Layers: remote hosts last (with the namespaces), the VXLAN link on the host's side.
    const elkNode = (id: string) => scene.elk.children!.find((c) => c.id === id)!;
    assert.strictEqual(elkNode(ids.remoteHost('172.30.250.12')).layoutOptions!['elk.layered.layering.layerConstraint'], 'LAST');
    assert.strictEqual(elkNode(ids.vxlanDevice('tsnet-vx')).layoutOptions!['elk.layered.layering.layerConstraint'], undefined);
    // Every edge ends on a port that exists.
    const ports = new Set(scene.elk.children!.flatMap((c) => (c.ports ?? []).map((p) => p.id)));
    for (const e of scene.elk.edges!) for (const end of [...e.sources, ...e.targets]) assert.ok(ports.has(end), `${e.id} ends on ${end}`);
  });

  it('filtering to one network keeps only its remote hosts and route', () => {
    const scene = buildScene(g, { networkIds: [MH2] });
    assert.deepStrictEqual(Object.values(scene.nodes).filter((n) => n.kind === 'remoteHost').length, 1);
    assert.ok(scene.nodes[ids.remoteHost('172.30.250.12')]);
    assert.deepStrictEqual(scene.nodes[ids.remoteHost('172.30.250.12')].parts[0].texts.map((t) => t.text).slice(2), ['10.61.0.0/26']);
    assert.ok(!scene.elk.edges!.some((e) => e.id === ids.route(MH)));
    const none = buildScene(g, { networkIds: [LOCAL] });
    assert.strictEqual(none.stats.remoteHosts, 0);
    assert.ok(!Object.values(none.nodes).some((n) => n.kind === 'vxlan'), 'no VXLAN link drawn for a local network alone');
  });

  it('lays out with ELK: remote hosts right of the VXLAN link, which is right of the bridges', async function () {
    this.timeout(20_000);
    const ELK = require('elkjs/lib/elk.bundled.js') as new () => { layout(g: ElkNode): Promise<ElkNode> };
    const laid = await new ELK().layout(buildScene(g).elk);
    const box = (id: string) => laid.children!.find((c) => c.id === id)!;
    const bridge = box(`net:${MH}`);
    const vx = box(ids.vxlanDevice('tsnet-vx'));
    const beta = box(ids.remoteHost('172.30.250.12'));
    assert.ok(bridge.x! + bridge.width! <= vx.x!, `bridge (${bridge.x}) left of the VXLAN link (${vx.x})`);
    assert.ok(vx.x! + vx.width! <= beta.x!, `VXLAN link (${vx.x}) left of the remote host (${beta.x})`);
    const tunnel = laid.edges!.find((e) => e.id === ids.vxlan('172.30.250.12'))!;
    assert.ok(tunnel.sections?.length, 'the VXLAN edge is routed');
  });

  it('the tree row of a remote host: VTEP, blocks (unrouted marked), lease; the tooltip names the cluster and link', () => {
    const gamma = net(MH).cluster!.remoteHosts[1];
    assert.strictEqual(remoteHostDescription(gamma), 'VTEP 172.30.250.13 · 10.60.0.128/26 · 10.60.1.0/26 (no route) · lease 2 s');
    const tip = remoteHostTooltip(gamma, net(MH));
    assert.match(tip, /remote host of blue \(cluster `blue`\)/);
    assert.match(tip, /MAC `02:74:ac:1e:fa:0d`/);
    assert.match(tip, /over `tsnet-vx`: `10\.60\.0\.128\/26`$/m);
    assert.match(tip, /Blocks on this network: `10\.60\.0\.128\/26`, `10\.60\.1\.0\/26`/);
  });

  it('samples the VXLAN link\'s traffic with the bridges (the picture shows it on the link\'s node)', () => {
    assert.ok(trafficLinks(g).includes('tsnet-vx'), trafficLinks(g).join(', '));
    assert.ok(!trafficLinks(buildGraph(networks, containers, { ...report, cluster: undefined })).includes('tsnet-vx'));
  });

  it('the cluster signature (what the store compares every few seconds) ignores lease ages and changes with hosts, blocks, routes and etcd health', () => {
    const c = report.cluster!;
    const sig = clusterSignature(c);
    assert.strictEqual(clusterSignature({ ...c, hosts: c.hosts.map((h) => ({ ...h, leaseAgeSeconds: h.leaseAgeSeconds + 5 })) }), sig);
    assert.notStrictEqual(clusterSignature({ ...c, hosts: c.hosts.slice(0, 3) }), sig, 'a host gone');
    assert.notStrictEqual(clusterSignature({ ...c, hosts: c.hosts.map((h, i) => (i === 1 ? { ...h, blocks: [...h.blocks, '10.60.3.0/26'] } : h)) }), sig, 'a new block');
    assert.notStrictEqual(clusterSignature({ ...c, remoteRoutes: c.remoteRoutes.slice(1) }), sig, 'a route gone');
    assert.notStrictEqual(clusterSignature({ ...c, etcd: { ...c.etcd, healthy: false } }), sig, 'etcd down');
    assert.strictEqual(clusterSignature(undefined), '');
  });
});
