/**
 * The multi-host fast path (pure: nftables JSON commands, no I/O). Cross-host traffic between two
 * containers of one multi-host network skips the host's IP stack on both hosts: nft `fwd` at the
 * ingress of the sender's host-side veth straight to the VXLAN link, and at the ingress of the
 * VXLAN link straight to the network's bridge. So it bypasses br_netfilter, IP forwarding and every
 * forward hook (tsnet's and Docker's), as Docker's overlay bridges such traffic at layer 2.
 *
 * One table of its own, `netdev tsnet-fast`:
 *   map remote4      interval map: remote address block -> the underlay address of its host, which
 *                    is the next hop on the VXLAN link (its permanent neighbour and FDB entry exist);
 *                    the same blocks the cluster routes over the VXLAN link; the elements that
 *                    differ are deleted and added in one transaction.
 *   chain vx-in      ingress of the VXLAN link: per multi-host network with ICC on,
 *                    `ip saddr SUBNET ip daddr SUBNET ip daddr != {GW, BCAST} fwd ip to ip daddr device BR`.
 *   chain ep-VETH    ingress of one endpoint's host-side veth (multi-host networks with ICC on):
 *                    `ip saddr ADDR ip daddr SUBNET ip daddr != {GW, BCAST}
 *                     fwd ip to ip daddr map @remote4 device VXLAN`.
 * Isolation holds: a container fast-paths only its own address to its own network's subnet, and the
 * map lookup misses for every local address (its blocks are not in the map) and unknown block, so
 * the rule does not match and the packet takes the normal path (bridge, forward chains), as do a
 * forged source, another network's addresses, the gateway, the outside, IPv6 and ARP. ICC off has
 * no fast path at all (the forward chains drop such traffic). `fwd` binds its device by ifindex,
 * so each rule's comment names the ifindexes it was written for: a re-created link gets new rules.
 */
import { parseCidr } from '@tsnet/shared';
import { match, payload, prefix, type Expr, type Json, type NftCmd } from '../firewall/rules';
import { ipToNum, numToIp } from './blocks';

export const FAST_TABLE = 'tsnet-fast';
export const FAST_FAMILY = 'netdev';
export const REMOTE_MAP = 'remote4';
export const VX_CHAIN = 'vx-in';
const ENDPOINT_PREFIX = 'ep-';

const t = { family: FAST_FAMILY, table: FAST_TABLE };

/** A multi-host network with ICC on, on this host. */
export interface FastNetwork {
  bridge: string;
  bridgeIndex: number;
  /** "10.60.0.0/16" */
  subnet: string;
  gateway: string;
}

/** One endpoint of such a network. */
export interface FastEndpoint {
  /** Host-side veth. */
  veth: string;
  address: string;
  subnet: string;
  gateway: string;
}

export interface RemoteBlock {
  block: string;
  /** Underlay address of the block's host. */
  via: string;
}

export interface FastPathWant {
  vxlan: string;
  vxlanIndex: number;
  remote: RemoteBlock[];
  networks: FastNetwork[];
  endpoints: FastEndpoint[];
}

/** What the kernel has in the table (from a list of it). */
export interface FastPathHave {
  present: boolean;
  /** block cidr -> via */
  remote: Map<string, string>;
  /** chain name -> comments of its rules, in order */
  chains: Map<string, string[]>;
}

export const endpointChain = (veth: string): string => `${ENDPOINT_PREFIX}${veth}`;
export const isEndpointChain = (chain: string): boolean => chain.startsWith(ENDPOINT_PREFIX);

/** "10.60.0.0/16" as an IPv4 network and prefix length (multi-host subnets and blocks are IPv4). */
function cidr(c: string): { addr: string; len: number } {
  const p = parseCidr(c);
  if (!p || p.family !== 4) throw new Error(`fast path: ${JSON.stringify(c)} is not an IPv4 CIDR`);
  return { addr: p.network, len: p.prefixLength };
}

function canonicalBlock(c: string): string {
  const { addr, len } = cidr(c);
  return `${addr}/${len}`;
}

/** The subnet's broadcast address (its last address). */
export function broadcastOf(subnet: string): string {
  const { addr, len } = cidr(subnet);
  return numToIp(ipToNum(addr) + 2 ** (32 - len) - 1);
}

const ip = (field: string): Expr => payload('ip', field);

/** Traffic of the subnet to the subnet, except to the gateway (the host) and the broadcast address. */
function inNetwork(subnet: string, gateway: string, source: Json): Expr[] {
  return [match(ip('saddr'), source), match(ip('daddr'), prefix(subnet)), match(ip('daddr'), { set: [gateway, broadcastOf(subnet)] }, '!=')];
}

/** The comment a rule carries: what it was written for, so a change (or a re-created link) is seen. */
export function endpointComment(e: FastEndpoint, vxlanIndex: number): string {
  return `tsnet fast ${e.address} ${canonicalBlock(e.subnet)} ${e.gateway} vx=${vxlanIndex}`;
}
export function networkComment(n: FastNetwork): string {
  return `tsnet fast ${n.bridge} ${canonicalBlock(n.subnet)} ${n.gateway} if=${n.bridgeIndex}`;
}

/** The table and its map (idempotent). */
function tableCommands(): NftCmd[] {
  return [{ add: { table: { family: FAST_FAMILY, name: FAST_TABLE } } }, { add: { map: { ...t, name: REMOTE_MAP, type: 'ipv4_addr', map: 'ipv4_addr', flags: ['interval'] } } }];
}

function baseChain(name: string, dev: string): NftCmd {
  return { add: { chain: { ...t, name, type: 'filter', hook: 'ingress', prio: 0, dev, policy: 'accept' } } };
}

/** Writes one endpoint's chain (idempotent: the chain is flushed and its rule written again). */
export function endpointCommands(e: FastEndpoint, vxlan: string, vxlanIndex: number): NftCmd[] {
  const chain = endpointChain(e.veth);
  const expr: Expr[] = [...inNetwork(e.subnet, e.gateway, e.address), { counter: null }, { fwd: { dev: vxlan, family: 'ip', addr: { map: { key: ip('daddr'), data: `@${REMOTE_MAP}` } } } }];
  return [baseChain(chain, e.veth), { flush: { chain: { ...t, name: chain } } }, { add: { rule: { ...t, chain, comment: endpointComment(e, vxlanIndex), expr } } }];
}

/** Deletes a chain whether or not it exists (nftables 1.0.6 has no `destroy`). */
export function deleteChainCommands(chain: string): NftCmd[] {
  return [{ add: { chain: { ...t, name: chain } } }, { flush: { chain: { ...t, name: chain } } }, { delete: { chain: { ...t, name: chain } } }];
}

export function removeEndpointCommands(veth: string): NftCmd[] {
  return [...tableCommands(), ...deleteChainCommands(endpointChain(veth))];
}

export function addEndpointCommands(e: FastEndpoint, vxlan: string, vxlanIndex: number): NftCmd[] {
  return [...tableCommands(), ...endpointCommands(e, vxlan, vxlanIndex)];
}

function vxChainCommands(want: FastPathWant): NftCmd[] {
  const cmds: NftCmd[] = [baseChain(VX_CHAIN, want.vxlan), { flush: { chain: { ...t, name: VX_CHAIN } } }];
  for (const n of sortedNetworks(want.networks)) {
    const expr: Expr[] = [...inNetwork(n.subnet, n.gateway, prefix(n.subnet)), { counter: null }, { fwd: { dev: n.bridge, family: 'ip', addr: ip('daddr') } }];
    cmds.push({ add: { rule: { ...t, chain: VX_CHAIN, comment: networkComment(n), expr } } });
  }
  return cmds;
}

const sortedNetworks = (ns: FastNetwork[]) => [...ns].sort((a, b) => a.bridge.localeCompare(b.bridge) || a.subnet.localeCompare(b.subnet));

function remoteElements(remote: RemoteBlock[]): Json[] {
  return [...remote].sort((a, b) => a.block.localeCompare(b.block)).map((r) => [{ prefix: cidr(r.block) }, r.via]);
}

/**
 * The commands that make the table what `want` says, given what it has (one transaction; empty
 * when nothing differs). Only what differs is written: the map's elements that differ (deleted
 * and added in the same transaction), the VXLAN chain when any rule differs, an endpoint chain when it is
 * missing or was written for something else; endpoint chains nobody wants are deleted.
 */
export function syncCommands(want: FastPathWant, have: FastPathHave): NftCmd[] {
  const cmds: NftCmd[] = [];
  // Only the blocks that differ: a host joining or leaving changes its own elements, not the
  // other 999 (and a monitor of the ruleset sees only those).
  const wantRemote = new Map(want.remote.map((r) => [canonicalBlock(r.block), r.via]));
  const gone = [...have.remote].filter(([b, v]) => wantRemote.get(b) !== v).map(([block, via]) => ({ block, via }));
  const added = [...wantRemote].filter(([b, v]) => have.remote.get(b) !== v).map(([block, via]) => ({ block, via }));
  if (gone.length > 0) cmds.push({ delete: { element: { ...t, name: REMOTE_MAP, elem: remoteElements(gone) } } });
  if (added.length > 0) cmds.push({ add: { element: { ...t, name: REMOTE_MAP, elem: remoteElements(added) } } });
  const vxWant = sortedNetworks(want.networks).map(networkComment);
  const vxHave = have.chains.get(VX_CHAIN);
  if (!vxHave || vxHave.join('\n') !== vxWant.join('\n')) cmds.push(...vxChainCommands(want));
  const wantChains = new Set<string>();
  for (const e of want.endpoints) {
    const chain = endpointChain(e.veth);
    wantChains.add(chain);
    const rules = have.chains.get(chain);
    if (!rules || rules.length !== 1 || rules[0] !== endpointComment(e, want.vxlanIndex)) cmds.push(...endpointCommands(e, want.vxlan, want.vxlanIndex));
  }
  for (const chain of have.chains.keys()) {
    if (isEndpointChain(chain) && !wantChains.has(chain)) cmds.push(...deleteChainCommands(chain));
  }
  return cmds.length > 0 ? [...tableCommands(), ...cmds] : [];
}

/** Reads a `list table netdev tsnet-fast` output. */
export function parseFastTable(items: Json[]): FastPathHave {
  const have: FastPathHave = { present: false, remote: new Map(), chains: new Map() };
  for (const item of items) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const o = item as { [k: string]: Json };
    const table = (x: Json) => (x as { table?: string; family?: string }).table === FAST_TABLE && (x as { family?: string }).family === FAST_FAMILY;
    if (o.table && (o.table as { name?: string }).name === FAST_TABLE && (o.table as { family?: string }).family === FAST_FAMILY) have.present = true;
    if (o.map && table(o.map) && (o.map as { name?: string }).name === REMOTE_MAP) {
      for (const el of ((o.map as { elem?: Json[] }).elem ?? []) as Json[]) {
        if (!Array.isArray(el) || el.length !== 2) continue;
        const [k, v] = el;
        const key = typeof k === 'string' ? `${k}/32` : k && typeof k === 'object' && 'prefix' in k ? `${(k.prefix as { addr: string }).addr}/${(k.prefix as { len: number }).len}` : undefined;
        if (key && typeof v === 'string') have.remote.set(key, v);
      }
    }
    if (o.chain && table(o.chain)) {
      const name = (o.chain as { name: string }).name;
      if (!have.chains.has(name)) have.chains.set(name, []);
    }
    if (o.rule && table(o.rule)) {
      const r = o.rule as { chain: string; comment?: string };
      const list = have.chains.get(r.chain) ?? [];
      list.push(r.comment ?? '');
      have.chains.set(r.chain, list);
    }
  }
  return have;
}

export const listTableCommand: NftCmd = { list: { table: { family: FAST_FAMILY, name: FAST_TABLE } } };
export const deleteTableCommands: NftCmd[] = [{ add: { table: { family: FAST_FAMILY, name: FAST_TABLE } } }, { delete: { table: { family: FAST_FAMILY, name: FAST_TABLE } } }];
