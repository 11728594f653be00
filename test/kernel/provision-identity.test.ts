/**
 * One provisioning path (driver/src/core/provision.ts): for every option combination the tests
 * use, a network that reconcile re-creates at start is identical in the kernel (links, addresses,
 * sysctls, nftables) to the one CreateNetwork made; a network recovered from the kernel with its
 * store lost takes the option parser's defaults. Each combination runs in a namespace of its own
 * (the global sysctls start at the kernel's defaults).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { parseNetworkRequest, type CreateNetworkRequest } from '@tsnet/shared';
import { toFirewallNetwork, type Driver, type DriverDeps } from '@tsnet/driver/dist/core/driver';
import { reconcile } from '@tsnet/driver/dist/core/reconcile';
import type { TsnetFirewall } from '@tsnet/driver/dist/firewall';
import { isRoot, requirePrerequisite } from '../helpers/netns';
import { CoreNamespace } from '../helpers/core-netns';

const NET = 'c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc';
const EP = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const BRIDGE = `tsn-${NET.slice(0, 11)}`;

interface Combination {
  name: string;
  options?: Record<string, string>;
  ipv6?: boolean;
  internal?: boolean;
  ipv4?: { Pool: string; Gateway: string; AuxAddresses?: Record<string, string> }[];
  /** A bridge of the user's, there before the network (adopted). */
  userBridge?: { name: string; mtu: number };
}

const V4 = [{ Pool: '10.231.250.0/24', Gateway: '10.231.250.1/24' }];
const COMBINATIONS: Combination[] = [
  { name: 'defaults' },
  { name: 'icc off', options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  { name: 'masquerade off', options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } },
  { name: 'internal', internal: true },
  { name: 'internal, icc off', internal: true, options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  { name: 'dual stack (--ipv6)', ipv6: true },
  { name: 'MTU 1400', options: { 'com.docker.network.driver.mtu': '1400' } },
  { name: 'host binding 127.0.0.1, port range, iface prefix', options: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1', 'tsnet.port_range': '30000-30100', 'com.docker.network.container_iface_prefix': 'net' } },
  { name: 'named bridge (created)', options: { 'com.docker.network.bridge.name': 'tst-named0' } },
  { name: 'two IPv4 subnets with aux addresses', ipv4: [...V4, { Pool: '10.231.251.0/24', Gateway: '10.231.251.1/24', AuxAddresses: { host1: '10.231.251.5/24' } }] },
  { name: 'adopted bridge with its own MTU', options: { 'com.docker.network.bridge.name': 'tst-user0' }, userBridge: { name: 'tst-user0', mtu: 1450 } },
  { name: 'adopted bridge, MTU option', options: { 'com.docker.network.bridge.name': 'tst-user1', 'com.docker.network.driver.mtu': '1380' }, userBridge: { name: 'tst-user1', mtu: 1450 } },
];

function request(c: Combination): CreateNetworkRequest {
  return {
    NetworkID: NET,
    Options: { 'com.docker.network.generic': c.options ?? {}, 'com.docker.network.enable_ipv6': !!c.ipv6, 'com.docker.network.internal': !!c.internal },
    IPv4Data: c.ipv4 ?? V4,
    IPv6Data: c.ipv6 ? [{ Pool: 'fd00:231:250::/64', Gateway: 'fd00:231:250::1/64' }] : [],
  };
}

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_data?: Record<string, unknown>; info_slave_data?: Record<string, unknown> };
}

/** One namespace with Docker's DOCKER-USER chains, a netlink handle and a firewall in it. */
class Place {
  core!: CoreNamespace;

  constructor(private readonly label: string) {}

  get firewall(): TsnetFirewall {
    return this.core.firewall;
  }

  async open(): Promise<void> {
    this.core = await CoreNamespace.open(this.label, {
      initFirewall: false,
      prepare: (p) => {
        for (const fam of ['ip', 'ip6']) p.sh(`nft add table ${fam} filter && nft add chain ${fam} filter DOCKER-USER`);
      },
    });
  }

  async close(): Promise<void> {
    await this.core?.close();
  }

  sh(cmd: string): string {
    return this.core.sh(cmd);
  }

  driver(stateDir: string): { driver: Driver; deps: DriverDeps } {
    return this.core.driver({ stateDir });
  }

  stateDir(): string {
    return this.core.stateDir('provision');
  }

  /** What the kernel holds for the network: links, addresses, sysctls, nftables (handles and counters stripped). */
  snapshot(bridge: string, veths: string[], ruleComment?: RegExp): Record<string, unknown> {
    const link = (name: string, own: boolean) => {
      const l = (JSON.parse(this.sh(`ip -j -d link show dev ${name}`)) as IpLink[])[0];
      const data = l.linkinfo?.info_data ?? {};
      const port = l.linkinfo?.info_slave_data ?? {};
      return {
        name: l.ifname,
        kind: l.linkinfo?.info_kind,
        mtu: l.mtu,
        // A host-side veth's MAC is the kernel's random pick; the bridge's and the container end's are set.
        mac: own ? l.address : undefined,
        up: l.flags.includes('UP'),
        master: l.master,
        bridge: l.linkinfo?.info_kind === 'bridge' ? { stp: data.stp_state, vlanFiltering: data.vlan_filtering, forwardDelay: data.forward_delay, ageing: data.ageing_time } : undefined,
        port: l.linkinfo?.info_slave_kind === 'bridge' ? { hairpin: port.hairpin, isolated: port.isolated, learning: port.learning, flood: port.flood } : undefined,
      };
    };
    const addresses = (JSON.parse(this.sh(`ip -j addr show dev ${bridge}`)) as { addr_info: { family: string; local: string; prefixlen: number; scope: string }[] }[])[0].addr_info
      .filter((a) => a.scope !== 'link')
      .map((a) => `${a.family} ${a.local}/${a.prefixlen}`)
      .sort();
    const sysctl = (p: string) => this.sh(`cat /proc/sys/${p}`).trim();
    const sysctls = {
      ip_forward: sysctl('net/ipv4/ip_forward'),
      ipv6_forwarding: sysctl('net/ipv6/conf/all/forwarding'),
      route_localnet: sysctl(`net/ipv4/conf/${bridge}/route_localnet`),
      disable_ipv6: sysctl(`net/ipv6/conf/${bridge}/disable_ipv6`),
      accept_dad: sysctl(`net/ipv6/conf/${bridge}/accept_dad`),
    };
    const strip = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(strip) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'handle' && k !== 'counter' && k !== 'packets' && k !== 'bytes').map(([k, x]) => [k, strip(x)])) : v;
    const nft = (JSON.parse(this.sh('nft -j list ruleset')).nftables as Record<string, unknown>[]).filter((i) => !('metainfo' in i)).map((i) => JSON.stringify(strip(i)).replace(ruleComment ?? /^$/, ''));
    return { links: [link(bridge, true), ...veths.map((v, i) => link(v, i % 2 === 1))], addresses, sysctls, nft };
  }
}

describe('one provisioning path: reconcile re-creates what CreateNetwork made (kernel, a namespace per combination)', function () {
  this.timeout(120_000);
  before(() => {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    requirePrerequisite(fs.existsSync('/usr/sbin/nft') || fs.existsSync('/sbin/nft'), 'nft', 'apt-get install -y nftables');
  });

  for (const c of COMBINATIONS) {
    it(`${c.name}: identical after the kernel lost it and reconcile re-made it`, async () => {
      const place = new Place('prov');
      try {
        await place.open();
        if (c.userBridge) place.sh(`ip link add ${c.userBridge.name} mtu ${c.userBridge.mtu} type bridge`);
        const dir = place.stateDir();
        const { driver } = place.driver(dir);
        await driver.createNetwork(request(c));
        await driver.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.250.2/24', ...(c.ipv6 ? { AddressIPv6: 'fd00:231:250::2/64' } : {}) } });
        const net = driver.state.networks[NET];
        const bridge = net.config.bridge;
        const ep = net.endpoints[EP];
        const made = place.snapshot(bridge, [ep.hostVeth, ep.containerVeth]);

        // The kernel loses it all (a reboot; the store survives): the user's bridge stays but bare.
        await place.firewall.removeNetwork(toFirewallNetwork(net.config));
        place.sh(`ip link del ${ep.hostVeth}`);
        if (c.userBridge) place.sh(`ip addr flush dev ${bridge} scope global && ip link set ${bridge} down`);
        else place.sh(`ip link del ${bridge}`);
        place.sh('echo 0 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv6/conf/all/forwarding');
        assert.doesNotMatch(place.sh('nft list table inet tsnet'), new RegExp(bridge), 'the firewall rules are gone before reconcile');

        const again = place.driver(dir);
        const report = await reconcile(again.driver, again.deps, false);
        assert.deepEqual(report.warnings, [], 'reconcile restored everything');
        assert.deepEqual(place.snapshot(bridge, [ep.hostVeth, ep.containerVeth]), made);
      } finally {
        await place.close();
      }
    });
  }

  it('a network recovered from the kernel with its store lost gets the option parser\'s defaults and the same kernel objects', async () => {
    const place = new Place('provr');
    try {
      await place.open();
      const c: Combination = { name: 'defaults, dual stack', ipv6: true };
      const { driver } = place.driver(place.stateDir());
      await driver.createNetwork(request(c));
      // Rule comments name the network by its ID; a recovered one is known by a prefix until dockerd names it.
      const comment = /"comment":"tsnet c0ffee00112\d?",/;
      const made = place.snapshot(BRIDGE, [], comment);
      // The store is gone; the kernel still has the bridge with its addresses, but no firewall rules.
      await place.firewall.removeNetwork(toFirewallNetwork(driver.state.networks[NET].config));

      const again = place.driver(place.stateDir());
      const report = await reconcile(again.driver, again.deps, true);
      const recovered = again.driver.state.networks[NET.slice(0, 11)];
      assert.ok(recovered?.recovered, `recovered: ${JSON.stringify(report.warnings)}`);
      const parsed = parseNetworkRequest({ ...request(c), NetworkID: NET.slice(0, 11) });
      assert.deepEqual({ ...recovered.config, ipv4: recovered.config.ipv4.map((s) => s.gateway), ipv6Subnets: recovered.config.ipv6Subnets.map((s) => s.gateway) }, { ...parsed, ipv4: ['10.231.250.1'], ipv6Subnets: ['fd00:231:250::1'] });
      assert.deepEqual(place.snapshot(BRIDGE, [], comment), made);
    } finally {
      await place.close();
    }
  });
});
