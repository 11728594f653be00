/**
 * One way to build each kernel object of a network: its bridge (MAC and MTU pinned, sysctls,
 * gateway addresses, up), its firewall attachment, and an endpoint's veth pair (with its
 * bridge-port flags). CreateNetwork, CreateEndpoint, Join's re-create and reconcile all build
 * through here, so what reconcile re-creates at start is what CreateNetwork made.
 *
 * Builders return steps with undos: a request runs them with runSteps (a failure undoes what was
 * done), reconcile runs them as they come (`build`). Every step is idempotent: it brings what the
 * kernel has to what the record says, and does nothing more when it is there already.
 */
import { cidrToString, VXLAN_LINK, type NetworkConfig } from '@tsnet/shared';
import type { Firewall, FirewallNetwork } from '../firewall/types';
import { EEXIST, ENODEV, NetlinkError, type LinkInfo, type NetlinkHandle } from '../netlink/types';
import { bridgeMac, DEFAULT_MTU, pinnedMacFor } from './bridge';
import type { Step } from './steps';

/** Kernel parameters (/proc/sys), injectable so the core can run inside a test namespace. */
export interface KernelParams {
  set(key: string, value: string): Promise<void>;
  setInterface(family: 'ipv4' | 'ipv6', ifname: string, key: string, value: string): Promise<void>;
  /** A bridge port attribute under /sys/class/net/IF/brport/ (provisioning sets port flags over netlink now). */
  setBridgePort?(ifname: string, key: string, value: string): Promise<void>;
}

export interface ProvisionDeps {
  netlink: NetlinkHandle;
  firewall: Firewall;
  params: KernelParams;
  /** Bridge settings of multi-host networks (driver/src/cluster); absent without etcd. */
  cluster?: { configureBridge(bridge: string): Promise<void> };
}

export interface BridgePlan {
  config: NetworkConfig;
  /** The user's own bridge: it keeps its MAC, and its MTU unless the network asks for one. */
  adopted: boolean;
  /** The link the kernel has under the bridge's name now; undefined when there is none. */
  existing?: LinkInfo;
  /** Runs just before the bridge is created (the journal line that names it). */
  beforeCreate?: () => Promise<void>;
  /** Each gateway address this build added is pushed here (an adopted bridge gives them back on removal). */
  added?: string[];
}

/** "gateway/prefix" of every subnet, in the order the network lists them. */
export function gatewayAddresses(config: NetworkConfig): string[] {
  return [...config.ipv4, ...config.ipv6Subnets].map((s) => `${s.gateway}/${s.pool.prefixLength}`);
}

export function toFirewallNetwork(c: NetworkConfig): FirewallNetwork {
  return {
    id: c.id,
    bridge: c.bridge,
    subnets: [...c.ipv4, ...c.ipv6Subnets].map((s) => ({ family: s.family, cidr: cidrToString(s.pool), gateway: s.gateway })),
    icc: c.icc,
    masquerade: c.masquerade,
    internal: c.internal,
    ...(c.cluster !== undefined ? { clusterDevice: VXLAN_LINK } : {}),
  };
}

export async function deleteLinkIfPresent(netlink: NetlinkHandle, name: string): Promise<void> {
  try {
    await netlink.deleteLink(name);
  } catch (e) {
    if (!(e instanceof NetlinkError && e.errno === ENODEV)) throw e;
  }
}

/** The network's bridge as its record says, then its firewall rules. */
export function bridgeSteps(deps: ProvisionDeps, plan: BridgePlan): Step[] {
  const { netlink, firewall, params } = deps;
  const { config, adopted, existing } = plan;
  const bridge = config.bridge;
  const steps: Step[] = [];
  if (!existing) {
    steps.push({
      name: `create bridge ${bridge}`,
      do: async () => {
        await plan.beforeCreate?.();
        await netlink.createBridge(bridge, { mtu: config.mtu ?? DEFAULT_MTU, mac: bridgeMac(config.id) });
      },
      undo: () => deleteLinkIfPresent(netlink, bridge),
    });
  } else {
    // A bridge that is there already (adopted, or made by an earlier run or version) may still
    // follow its ports' MAC and MTU: pin both. An adopted one keeps its own MAC and MTU.
    const before = existing.mtu;
    steps.push({
      name: `pin MAC and MTU of ${bridge}`,
      do: () => netlink.pinBridge(bridge, { mac: pinnedMacFor(config.id, existing.mac), mtu: config.mtu ?? (adopted ? before : DEFAULT_MTU) }),
      undo: () => (adopted && config.mtu && config.mtu !== before ? netlink.setMtu(bridge, before) : Promise.resolve()),
    });
  }
  if (config.ipv6) {
    steps.push({
      name: 'enable IPv6 on the bridge',
      do: async () => {
        await params.setInterface('ipv6', bridge, 'disable_ipv6', '0');
        // The gateway address is the network's own: no duplicate address detection delay.
        await params.setInterface('ipv6', bridge, 'accept_dad', '0');
        await params.set('net.ipv6.conf.all.forwarding', '1');
      },
    });
  }
  for (const gw of gatewayAddresses(config)) {
    let addedHere = false;
    steps.push({
      name: `add gateway ${gw} to ${bridge}`,
      do: async () => {
        try {
          await netlink.addAddress(bridge, gw);
          addedHere = true;
          plan.added?.push(gw);
        } catch (e) {
          // Already there: on an adopted bridge it is the user's, on our own a survivor.
          if (!(existing && e instanceof NetlinkError && e.errno === EEXIST)) throw e;
        }
      },
      undo: async () => {
        if (existing && addedHere) await netlink.deleteAddress(bridge, gw).catch(() => undefined);
      },
    });
  }
  steps.push({
    name: 'kernel parameters',
    do: async () => {
      await params.set('net.ipv4.ip_forward', '1');
      // Lets DNAT from 127.0.0.1 reach containers on this bridge (published ports on localhost).
      await params.setInterface('ipv4', bridge, 'route_localnet', '1');
    },
  });
  const cluster = config.cluster !== undefined ? deps.cluster : undefined;
  if (cluster) steps.push({ name: 'multi-host bridge settings', do: () => cluster.configureBridge(bridge) });
  steps.push({ name: `set ${bridge} up`, do: () => netlink.setLinkUp(bridge) });
  steps.push({
    name: 'firewall rules',
    do: () => firewall.applyNetwork(toFirewallNetwork(config)),
    undo: () => firewall.removeNetwork(toFirewallNetwork(config)),
  });
  return steps;
}

export interface VethPlan {
  config: NetworkConfig;
  hostVeth: string;
  containerVeth: string;
  /** MAC of the container's end. */
  mac: string;
  /** Runs just before the pair is created (the journal line that names it). */
  beforeCreate?: () => Promise<void>;
  /** Delete a pair of these names first (ours, left by an earlier attempt). */
  replaceLeftover?: boolean;
  /** The error for a name that appeared meanwhile (EEXIST); default: the kernel's. */
  nameTaken?: () => Error;
}

/**
 * An endpoint's veth pair on its network's bridge, with its bridge-port flags: a container
 * reaching its own published port comes back through the port it left by (hairpin); without ICC,
 * isolated ports cannot reach each other even when br_netfilter is off. The flags go with the
 * creation in the netlink worker (no sysfs write on the driver's thread).
 */
export function vethSteps(deps: ProvisionDeps, plan: VethPlan): Step[] {
  const { netlink } = deps;
  const { config, hostVeth, containerVeth } = plan;
  return [
    {
      name: `create veth ${hostVeth}`,
      do: async () => {
        await plan.beforeCreate?.();
        if (plan.replaceLeftover) {
          await deleteLinkIfPresent(netlink, hostVeth);
          await deleteLinkIfPresent(netlink, containerVeth);
        }
        try {
          await netlink.createVeth(hostVeth, containerVeth, { master: config.bridge, mtu: config.mtu, peerMac: plan.mac, ...portFlags(config) });
        } catch (e) {
          if (plan.nameTaken && e instanceof NetlinkError && e.errno === EEXIST) throw plan.nameTaken();
          throw e;
        }
      },
      undo: () => deleteLinkIfPresent(netlink, hostVeth),
    },
  ];
}

/** The bridge-port flags of a network's endpoints. */
export function portFlags(config: NetworkConfig): { hairpin: true; isolated?: true } {
  return config.icc ? { hairpin: true } : { hairpin: true, isolated: true };
}

/** Runs steps one after another without undo (reconcile: what was made stays made). */
export async function build(steps: Step[]): Promise<void> {
  for (const s of steps) await s.do();
}
