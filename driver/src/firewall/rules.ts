/**
 * Pure generator of tsnet's nftables JSON commands (libnftables JSON schema 1, nftables 1.0.6).
 * No I/O here: every function maps FirewallNetwork / PortMapRule (plus, where a change depends on
 * what is already programmed, a parsed snapshot of the kernel) to a list of JSON commands. The
 * adapter (index.ts) sends one list as one buffer = one atomic kernel transaction.
 *
 * RULE DESIGN, and why
 * --------------------
 * 1. Everything of ours lives in ONE `table inet tsnet` (v4 + v6 in one place, coexisting with
 *    Docker's `ip nat` / `ip filter`), plus exactly two rules per network in Docker's
 *    `ip filter DOCKER-USER` (and `ip6 filter DOCKER-USER` when it exists).
 * 2. Base chains are static (written once by init(), flushed and rewritten atomically so init is
 *    idempotent) and dispatch through maps, so nothing per network or per port is a rule in a
 *    base chain. That makes add/remove/replace handle-free and O(1) per packet in the number of
 *    networks and port maps:
 *      forward     (filter, prio 0):   oifname vmap @fwd_in   -> jump in-<BR>
 *                                      iifname vmap @fwd_out  -> jump out-<BR>
 *      postrouting (nat, srcnat):      oifname vmap @post_out -> jump post-<BR>
 *                                      ip saddr vmap @masq4 / ip6 saddr vmap @masq6 (intervals)
 *                                                             -> jump masq-<BR>
 *      prerouting / output (nat, dstnat): dnat through the port maps (see 5).
 *      input       (filter, prio 0):   iifname @bridges ip daddr 127.0.0.0/8, not part of a
 *                                      DNAT'd or established connection -> drop (see 8).
 *      prerouting_raw (filter, prio -300, before conntrack), only when the driver runs with etcd:
 *                                      ip saddr vmap @notrack4 (intervals) -> jump notrack-<BR>
 *                                      (multi-host networks, see 9)
 * 3. Per network five regular chains, always present (content depends on options):
 *      in-BR   traffic forwarded INTO BR: established/related and DNAT'd (published ports) pass;
 *              same-bridge traffic (only seen with br_netfilter) passes, or is dropped when
 *              ICC is off; anything else from another interface is dropped. This isolates tsnet
 *              networks from each other and from Docker's bridges in the inbound direction.
 *              Internal: only same-bridge traffic (and never other interfaces).
 *      out-BR  traffic forwarded OUT of BR: internal -> drop to any other interface. Otherwise
 *              new connections to Docker's bridges (docker0, br-*) are dropped: our DOCKER-USER
 *              accept would otherwise bypass Docker's own isolation of its networks.
 *      post-BR hairpin (`ct status dnat`, saddr in subnet, out via BR) and localhost DNAT
 *              (`ip saddr 127.0.0.0/8` out via BR; the core sets route_localnet) masquerade.
 *      masq-BR `oifname != BR masquerade`, reached via @masq4/@masq6 only when masquerade is on
 *              and the network is not internal.
 *      notrack-BR  multi-host networks: the notrack rules of 9 (empty for a local network).
 *    Our table only ever returns or drops: an accept here would not override Docker's
 *    FORWARD DROP (every base chain runs; a drop anywhere is final), so the accepts that
 *    forwarding needs are the two DOCKER-USER rules `iifname BR accept` / `oifname BR accept`
 *    (comment "tsnet", inserted at the top, only iptables-readable expressions), and isolation
 *    is enforced by our drops which run regardless of those accepts.
 * 4. ICC off: `iifname BR oifname BR` traffic only exists in the inet forward hook when
 *    br_netfilter is on (bridge-nf-call-iptables / -ip6tables = 1, which Docker sets). The
 *    `table bridge` + `meta ibrname` alternative needs CONFIG_NFT_BRIDGE_META, which this
 *    kernel lacks (verified: "Operation not supported"); without br_netfilter the core should
 *    set the bridge ports' `isolated` flag instead.
 * 5. Port maps: static rules look up pairs of maps keyed by `ip daddr . meta l4proto . th dport`
 *    (specific host address) or `meta l4proto . th dport` (every local address, guarded by
 *    `fib daddr type local`), one map for the new address and one for the new port (nftables
 *    1.0.6's JSON parser cannot declare a map whose data is a concatenation `addr . port`).
 *    Adding a port map is one `add element` per map, removal one `delete element`, no rule per
 *    port (written as raw nf_tables messages by set-elements.ts; the commands here are kept for
 *    removeNetwork's transaction and as the fallback). Elements carry the comment "tsnet <bridge> <networkId>" so listPortMaps can give the
 *    owner back and removeNetwork can find a network's port maps. IPv6 `::1` is never DNAT'd
 *    (there is no route_localnet for v6). Measured: the cost of adding one does not change
 *    between 0 and 10,000 port maps present.
 * 6. Reading before writing is kept small: applyNetwork lists only the two DOCKER-USER chains
 *    (rules there are found by comment + handle; deleting by handle is the only way to remove
 *    exactly ours). Elements that must be absent are added and deleted in one transaction
 *    (absent afterwards whatever was there), so applyNetwork never lists our own maps.
 *    removeNetwork lists the maps (it must find the network's port maps). libnftables 1.0.6
 *    builds its cache only for the first list command of a buffer, so the adapter runs each
 *    list command as its own call (all in one worker round trip).
 * 7. nftables 1.0.6 JSON quirks met: a map declared with `"map": [..]` silently becomes a
 *    set; concatenated map data cannot be declared (hence the address/port map pairs);
 *    `delete` of an absent object fails the whole transaction (`destroy` is 1.0.8+), hence
 *    add-then-delete and add-flush-delete for chains.
 * 8. Loopback: the core sets route_localnet on each bridge so `-p 127.0.0.1:H:C` works (the host's
 *    DNAT'd packet leaves with source 127.0.0.1 and is masqueraded in post-BR). route_localnet
 *    also makes the kernel accept 127.0.0.0/8 arriving on the bridge, so the input chain drops
 *    that unless it is a reply of such a connection (CVE-2020-8558, as Kubernetes and Docker do);
 *    and prerouting never DNATs a loopback destination, only the output hook does (moby#45610).
 * 9. Multi-host networks (clusterDevice set): traffic between the network's containers (on this
 *    host, and on others through the VXLAN link) would pass conntrack on both hosts, in both
 *    directions, for nothing: it is never NATed, and every rule that decides about it (the
 *    clusterRules at the top of in-BR / out-BR: isolation, ICC, --internal; `iifname BR` for
 *    the same bridge) is stateless. So it is `notrack`ed before conntrack sees it: from the
 *    subnet, arriving on BR or the VXLAN link, to the subnet except the gateway. Everything else
 *    stays tracked: traffic to the host (the gateway address: a hairpin to a published port needs
 *    conntrack to be de-NATed; the host's other addresses are outside the subnet), to or from
 *    the outside (masquerade), DNAT'd published ports, and another network's addresses (dropped
 *    by in-BR as before; an untracked packet is never "established"). Reached by one
 *    interval-map lookup on the source address. What it saves is mostly conntrack entries: one
 *    per flow on each host, and nf_conntrack_max bounds how many flows a host can track.
 */
import { PROTO_NAMES, VXLAN_LINK, ipFamily, normalizeIP, parseCidr } from '@tsnet/shared';
import type { FirewallNetwork, FirewallSubnet, PortMapRule } from './types';

export const TABLE = 'tsnet';
export const FAMILY = 'inet';
export const DOCKER_USER = 'DOCKER-USER';
export const USER_COMMENT = 'tsnet';

// ---- JSON helpers ----------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type NftCmd = { [verb: string]: { [obj: string]: Json } };
export type Expr = { [k: string]: Json };

const meta = (key: string): Expr => ({ meta: { key } });
export const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
export const match = (left: Json, right: Json, op = '=='): Expr => ({ match: { op, left, right } });
const ct = (key: string): Expr => ({ ct: { key } });
const jump = (target: string): Expr => ({ jump: { target } });
const ipProto = (family: 4 | 6): string => (family === 4 ? 'ip' : 'ip6');

export function prefix(cidr: string): Expr {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  return { prefix: { addr: c.network, len: c.prefixLength } };
}

function canonicalCidr(cidr: string): string {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  return `${c.network}/${c.prefixLength}`;
}

const tbl = { family: FAMILY, table: TABLE };

function addChain(name: string, base?: { type: string; hook: string; prio: number }): NftCmd {
  return { add: { chain: { ...tbl, name, ...(base ? { ...base, policy: 'accept' } : {}) } } };
}
const flushChain = (name: string): NftCmd => ({ flush: { chain: { ...tbl, name } } });
const deleteChain = (name: string): NftCmd => ({ delete: { chain: { ...tbl, name } } });
function addRule(chain: string, expr: Expr[], comment?: string): NftCmd {
  return { add: { rule: { ...tbl, chain, expr, ...(comment ? { comment } : {}) } } };
}
function addMap(name: string, type: Json, map: string, flags?: string[]): NftCmd {
  return { add: { map: { ...tbl, name, type, map, ...(flags ? { flags } : {}) } } };
}
function elementCmd(verb: 'add' | 'delete', name: string, elem: Json[]): NftCmd {
  return { [verb]: { element: { ...tbl, name, elem } } };
}

// ---- names -----------------------------------------------------------------------------------

export const MAP = {
  fwdIn: 'fwd_in',
  fwdOut: 'fwd_out',
  postOut: 'post_out',
  masq4: 'masq4',
  masq6: 'masq6',
  notrack4: 'notrack4',
} as const;

export type PortMapKind = 'addr' | 'any';
/** The pair of maps (new address, new port) for one family and key kind. */
export function portMapNames(family: 4 | 6, kind: PortMapKind): { addr: string; port: string } {
  const base = `pm${family}${kind === 'any' ? 'any' : ''}`;
  return { addr: `${base}_addr`, port: `${base}_port` };
}
export const ALL_PORT_MAPS: Array<{ family: 4 | 6; kind: PortMapKind }> = [
  { family: 4, kind: 'addr' },
  { family: 4, kind: 'any' },
  { family: 6, kind: 'addr' },
  { family: 6, kind: 'any' },
];

export const netChains = (bridge: string) => ({
  in: `in-${bridge}`,
  out: `out-${bridge}`,
  post: `post-${bridge}`,
  masq: `masq-${bridge}`,
  notrack: `notrack-${bridge}`,
});

// ---- skeleton (init) -------------------------------------------------------------------------

const BASE = {
  prerouting: { type: 'nat', hook: 'prerouting', prio: -100 },
  output: { type: 'nat', hook: 'output', prio: -100 },
  postrouting: { type: 'nat', hook: 'postrouting', prio: 100 },
  forward: { type: 'filter', hook: 'forward', prio: 0 },
  input: { type: 'filter', hook: 'input', prio: 0 },
} as const;

/** Multi-host only (see 9): a host without etcd does not pay its per-packet lookup. */
const RAW_CHAIN = 'prerouting_raw';
const RAW_BASE = { type: 'filter', hook: 'prerouting', prio: -300 } as const;

/** The set of every tsnet bridge (for rules about traffic arriving on any of them). */
export const SET_BRIDGES = 'bridges';

function lookupKey(family: 4 | 6, kind: PortMapKind): Expr {
  const parts: Expr[] = [meta('l4proto'), payload('th', 'dport')];
  if (kind === 'addr') parts.unshift(payload(ipProto(family), 'daddr'));
  return { concat: parts };
}

/**
 * The DNAT rule of one port-map pair. A loopback destination is DNAT'd only for the host's own
 * traffic (output hook): in prerouting, a packet to 127.0.0.0/8 or ::1 came from another machine
 * or a container that routed loopback to us, and `-p 127.0.0.1:H:C` must not answer it
 * (moby#45610). IPv6 ::1 is never DNAT'd (there is no route_localnet for IPv6).
 */
function dnatRule(chain: 'prerouting' | 'output', family: 4 | 6, kind: PortMapKind): NftCmd {
  const names = portMapNames(family, kind);
  const expr: Expr[] = [match(meta('nfproto'), family === 4 ? 'ipv4' : 'ipv6')];
  if (family === 6) expr.push(match(payload('ip6', 'daddr'), '::1', '!='));
  else if (chain === 'prerouting') expr.push(match(payload('ip', 'daddr'), prefix('127.0.0.0/8'), '!='));
  if (kind === 'any') expr.push(match({ fib: { result: 'type', flags: ['daddr'] } }, 'local'));
  expr.push({
    dnat: {
      family: ipProto(family),
      addr: { map: { key: lookupKey(family, kind), data: `@${names.addr}` } },
      port: { map: { key: lookupKey(family, kind), data: `@${names.port}` } },
    },
  });
  return addRule(chain, expr);
}

/**
 * Creates the table, its maps and base chains if missing, and rewrites the base chains' few
 * static rules (flush + add in the same transaction, so running it again changes nothing).
 * Per-network chains, map elements and port maps are left alone. `cluster` (the driver runs with
 * etcd) adds the raw-priority chain of multi-host networks; without it that chain is removed.
 */
export function skeletonCommands(opts: { cluster?: boolean } = {}): NftCmd[] {
  const cmds: NftCmd[] = [{ add: { table: { family: FAMILY, name: TABLE } } }];
  cmds.push(addMap(MAP.fwdIn, 'ifname', 'verdict'));
  cmds.push(addMap(MAP.fwdOut, 'ifname', 'verdict'));
  cmds.push(addMap(MAP.postOut, 'ifname', 'verdict'));
  cmds.push(addMap(MAP.masq4, 'ipv4_addr', 'verdict', ['interval']));
  cmds.push(addMap(MAP.masq6, 'ipv6_addr', 'verdict', ['interval']));
  cmds.push(addMap(MAP.notrack4, 'ipv4_addr', 'verdict', ['interval']));
  cmds.push({ add: { set: { ...tbl, name: SET_BRIDGES, type: 'ifname' } } });
  for (const { family, kind } of ALL_PORT_MAPS) {
    const names = portMapNames(family, kind);
    const type = kind === 'addr' ? [family === 4 ? 'ipv4_addr' : 'ipv6_addr', 'inet_proto', 'inet_service'] : ['inet_proto', 'inet_service'];
    cmds.push(addMap(names.addr, type, family === 4 ? 'ipv4_addr' : 'ipv6_addr'));
    cmds.push(addMap(names.port, type, 'inet_service'));
  }
  for (const [name, base] of Object.entries(BASE)) {
    cmds.push(addChain(name, base));
    cmds.push(flushChain(name));
  }
  for (const chain of ['prerouting', 'output'] as const) {
    for (const { family, kind } of ALL_PORT_MAPS) cmds.push(dnatRule(chain, family, kind));
  }
  // route_localnet (needed so a DNAT'd 127.0.0.1 connection can leave through a bridge) would
  // also let a container send to the host's 127.0.0.1 services: drop what arrives on a tsnet
  // bridge for 127.0.0.0/8 unless it belongs to such a connection (CVE-2020-8558).
  const fromBridgeToLoopback = [match(meta('iifname'), `@${SET_BRIDGES}`), match(payload('ip', 'daddr'), prefix('127.0.0.0/8'))];
  cmds.push(addRule('input', [...fromBridgeToLoopback, match(ct('state'), ['established', 'related'], 'in'), { return: null }]));
  cmds.push(addRule('input', [...fromBridgeToLoopback, match(ct('status'), 'dnat', 'in'), { return: null }]));
  cmds.push(addRule('input', [...fromBridgeToLoopback, { counter: null }, { drop: null }]));
  cmds.push(addRule('postrouting', [{ vmap: { key: meta('oifname'), data: `@${MAP.postOut}` } }]));
  cmds.push(addRule('postrouting', [{ vmap: { key: payload('ip', 'saddr'), data: `@${MAP.masq4}` } }]));
  cmds.push(addRule('postrouting', [{ vmap: { key: payload('ip6', 'saddr'), data: `@${MAP.masq6}` } }]));
  // add + flush (+ delete): present and rewritten in cluster mode, absent otherwise.
  cmds.push(addChain(RAW_CHAIN, RAW_BASE), flushChain(RAW_CHAIN));
  if (opts.cluster) cmds.push(addRule(RAW_CHAIN, [{ vmap: { key: payload('ip', 'saddr'), data: `@${MAP.notrack4}` } }]));
  else cmds.push(deleteChain(RAW_CHAIN));
  cmds.push(addRule('forward', [{ vmap: { key: meta('oifname'), data: `@${MAP.fwdIn}` } }]));
  cmds.push(addRule('forward', [{ vmap: { key: meta('iifname'), data: `@${MAP.fwdOut}` } }]));
  // Only a multi-host network's own traffic leaves through the VXLAN link, and its out-BR chain
  // accepts that: anything else routed there (another network's container, docker0, the LAN
  // with a forged source address of a multi-host subnet) would be admitted by the remote host,
  // which checks only the source address.
  if (opts.cluster) cmds.push(addRule('forward', [match(meta('oifname'), VXLAN_LINK), { counter: null }, { drop: null }]));
  return cmds;
}

// ---- kernel snapshot (parsed JSON list output) ----------------------------------------------

export interface MapElem {
  /** Key as nft prints it (string, number, {concat}, {prefix}, {range}), element wrapper removed. */
  key: Json;
  comment?: string;
  value: Json;
}
export interface DockerUserRule {
  family: 'ip' | 'ip6';
  handle: number;
  /** The interface the rule matches (iifname or oifname), when it is one of ours. */
  ifname?: string;
  dir?: 'iifname' | 'oifname';
}
export interface Snapshot {
  tableExists: boolean;
  maps: Map<string, MapElem[]>;
  /** Chains of our table that exist (names). */
  chains: Set<string>;
  /** Families whose `filter` table holds a DOCKER-USER chain. */
  dockerUser: Set<'ip' | 'ip6'>;
  /** tsnet's rules (comment "tsnet") found in DOCKER-USER chains. */
  userRules: DockerUserRule[];
}

export function emptySnapshot(): Snapshot {
  return { tableExists: false, maps: new Map(), chains: new Set(), dockerUser: new Set(), userRules: [] };
}

/** Parses the `nftables` array of one or more JSON list outputs into a snapshot. */
export function parseListOutput(items: Json[], into: Snapshot = emptySnapshot()): Snapshot {
  for (const item of items) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    if ('table' in item) {
      const t = item.table as { family: string; name: string };
      if (t.family === FAMILY && t.name === TABLE) into.tableExists = true;
    } else if ('map' in item) {
      const m = item.map as { family: string; table: string; name: string; elem?: Json[] };
      if (m.family !== FAMILY || m.table !== TABLE) continue;
      into.tableExists = true;
      const elems: MapElem[] = [];
      for (const pair of m.elem ?? []) {
        if (!Array.isArray(pair) || pair.length !== 2) continue;
        let key = pair[0];
        let comment: string | undefined;
        if (key && typeof key === 'object' && !Array.isArray(key) && 'elem' in key) {
          const e = key.elem as { val: Json; comment?: string };
          key = e.val;
          comment = e.comment;
        }
        elems.push({ key, comment, value: pair[1] });
      }
      into.maps.set(m.name, elems);
    } else if ('chain' in item) {
      const c = item.chain as { family: string; table: string; name: string };
      if (c.family === FAMILY && c.table === TABLE) into.chains.add(c.name);
      if ((c.family === 'ip' || c.family === 'ip6') && c.table === 'filter' && c.name === DOCKER_USER) into.dockerUser.add(c.family);
    } else if ('rule' in item) {
      const r = item.rule as { family: string; table: string; chain: string; handle: number; comment?: string; expr: Json[] };
      if ((r.family !== 'ip' && r.family !== 'ip6') || r.table !== 'filter' || r.chain !== DOCKER_USER) continue;
      into.dockerUser.add(r.family);
      if (r.comment !== USER_COMMENT) continue;
      const rule: DockerUserRule = { family: r.family, handle: r.handle };
      for (const e of r.expr ?? []) {
        const m = (e as { match?: { op: string; left: { meta?: { key: string } }; right: Json } }).match;
        const key = m?.left?.meta?.key;
        if (m && m.op === '==' && (key === 'iifname' || key === 'oifname') && typeof m.right === 'string') {
          rule.dir = key;
          rule.ifname = m.right;
        }
      }
      into.userRules.push(rule);
    }
  }
  return into;
}

function jumpTarget(v: Json): string | undefined {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'jump' in v) {
    const j = v.jump as { target?: string };
    return j.target;
  }
  return undefined;
}

/** Returns a map key printed by nft as a CIDR string ("10.1.0.0/24"), for prefix / range keys. */
function keyCidr(key: Json): string | undefined {
  if (key && typeof key === 'object' && !Array.isArray(key) && 'prefix' in key) {
    const p = key.prefix as { addr: string; len: number };
    return `${normalizeIP(p.addr)}/${p.len}`;
  }
  if (typeof key === 'string') {
    const fam = ipFamily(key);
    if (fam) return `${normalizeIP(key)}/${fam === 4 ? 32 : 128}`;
  }
  return undefined;
}

/** Bridges that have a network programmed (an element in @fwd_in). */
export function programmedBridges(s: Snapshot): string[] {
  return (s.maps.get(MAP.fwdIn) ?? []).map((e) => e.key).filter((k): k is string => typeof k === 'string').sort();
}

// ---- networks --------------------------------------------------------------------------------

function v4v6(subnets: FirewallSubnet[], family: 4 | 6): FirewallSubnet[] {
  return subnets.filter((s) => s.family === family);
}

/** Multi-host: the network's own subnet arriving from, or leaving to, its remote hosts over the VXLAN link. */
function clusterRules(net: FirewallNetwork, dir: 'iifname' | 'oifname', verdict: Expr): Expr[][] {
  if (!net.clusterDevice) return [];
  const field = dir === 'iifname' ? 'saddr' : 'daddr';
  return v4v6(net.subnets, 4).map((s) => [match(meta(dir), net.clusterDevice!), match(payload('ip', field), prefix(s.cidr)), verdict]);
}

function inChainRules(net: FirewallNetwork): Expr[][] {
  const br = net.bridge;
  const rules: Expr[][] = [];
  // Containers of the same network on other hosts are "the same bridge" for ICC.
  rules.push(...clusterRules(net, 'iifname', net.icc ? { return: null } : { drop: null }));
  if (net.internal) {
    rules.push([match(meta('iifname'), br, '!='), { drop: null }]);
    rules.push(net.icc ? [{ return: null }] : [{ drop: null }]);
    return rules;
  }
  rules.push([match(ct('state'), ['established', 'related'], 'in'), { return: null }]);
  rules.push([match(ct('status'), 'dnat', 'in'), { return: null }]);
  rules.push([match(meta('iifname'), br), net.icc ? { return: null } : { drop: null }]);
  rules.push([{ drop: null }]);
  return rules;
}

/** Docker's own bridges, protected from our DOCKER-USER accept (Docker's naming). */
export const DOCKER_BRIDGE_PATTERNS = ['docker0', 'br-*'];

/**
 * Multi-host: only the network's own addresses leave through the VXLAN link. The receiving host
 * admits a packet into a bridge by its source address, so a container that forged a source address
 * of another multi-host network would otherwise reach that network's containers on other hosts.
 */
function antiSpoofRules(net: FirewallNetwork): Expr[][] {
  const own = v4v6(net.subnets, 4);
  if (!net.clusterDevice || own.length === 0) return [];
  return [[match(meta('oifname'), net.clusterDevice), match(payload('ip', 'saddr'), own.length === 1 ? prefix(own[0].cidr) : { set: own.map((s) => prefix(s.cidr)) }, '!='), { drop: null }]];
}

function outChainRules(net: FirewallNetwork): Expr[][] {
  const br = net.bridge;
  // accept, not return: the forward base chain drops what else goes to the VXLAN link.
  const toRemote = clusterRules(net, 'oifname', net.icc ? { accept: null } : { drop: null });
  if (net.internal) return [...antiSpoofRules(net), ...toRemote, [match(meta('oifname'), br, '!='), { drop: null }]];
  return [
    ...antiSpoofRules(net),
    ...toRemote,
    [match(meta('oifname'), br), { return: null }],
    [match(ct('state'), ['established', 'related'], 'in'), { return: null }],
    [match(ct('status'), 'dnat', 'in'), { return: null }],
    ...DOCKER_BRIDGE_PATTERNS.map((p) => [match(meta('oifname'), p), { drop: null }]),
  ];
}

function postChainRules(net: FirewallNetwork): Expr[][] {
  if (net.internal) return [];
  const rules: Expr[][] = [];
  for (const s of net.subnets) {
    rules.push([match(ct('status'), 'dnat', 'in'), match(payload(ipProto(s.family), 'saddr'), prefix(s.cidr)), { masquerade: null }]);
  }
  if (net.subnets.some((s) => s.family === 4)) {
    rules.push([match(payload('ip', 'saddr'), prefix('127.0.0.0/8')), { masquerade: null }]);
  }
  return rules;
}

function masqChainRules(net: FirewallNetwork): Expr[][] {
  if (net.internal || !net.masquerade) return [];
  // Traffic to the network's remote hosts keeps its container source address.
  const notCluster = net.clusterDevice ? [match(meta('oifname'), net.clusterDevice, '!=')] : [];
  return [[match(meta('oifname'), net.bridge, '!='), ...notCluster, { masquerade: null }]];
}

/**
 * Multi-host: the network's own container-to-container traffic on the bridge and the VXLAN link
 * skips conntrack (see 9): packets from the subnet (the map's key) arriving on BR or the VXLAN
 * link for an address of the subnet other than the gateway. The gateway is the only address of
 * the subnet that is local to the host, so traffic to the host (a hairpin to a published port
 * through the gateway) stays tracked; no fib lookup is needed per packet.
 */
function notrackChainRules(net: FirewallNetwork): Expr[][] {
  if (!net.clusterDevice) return [];
  const ifaces: Expr = match(meta('iifname'), { set: [net.bridge, net.clusterDevice] });
  return v4v6(net.subnets, 4).map((s) => [
    ifaces,
    match(payload('ip', 'daddr'), prefix(s.cidr)),
    match(payload('ip', 'daddr'), s.gateway, '!='),
    { notrack: null },
  ]);
}

const ruleComment = (net: FirewallNetwork) => `tsnet ${net.id.slice(0, 12)}`;

/** DOCKER-USER rules (one family): `iifname BR accept`, `oifname BR accept`, top of the chain. */
function dockerUserInsert(family: 'ip' | 'ip6', bridge: string): NftCmd[] {
  const rule = (dir: 'iifname' | 'oifname'): NftCmd => ({
    insert: {
      rule: {
        family,
        table: 'filter',
        chain: DOCKER_USER,
        expr: [match(meta(dir), bridge), { counter: null }, { accept: null }],
        comment: USER_COMMENT,
      },
    },
  });
  // `insert` without a position puts the rule first: oifname first, then iifname above it.
  return [rule('oifname'), rule('iifname')];
}

function dockerUserDelete(r: DockerUserRule): NftCmd {
  return { delete: { rule: { family: r.family, table: 'filter', chain: DOCKER_USER, handle: r.handle } } };
}

/**
 * Commands that make the kernel hold exactly `net`'s objects, given a snapshot of the
 * DOCKER-USER chains (needed: rules are found by handle) and optionally of the verdict maps
 * (only used to delete masquerade elements of subnets the network no longer has; Docker
 * networks never change subnets, so the adapter does not list them). Idempotent: applying the
 * same network twice yields an equivalent ruleset.
 */
export function applyNetworkCommands(net: FirewallNetwork, s: Snapshot): NftCmd[] {
  validateNetwork(net);
  const ch = netChains(net.bridge);
  const comment = ruleComment(net);
  const cmds: NftCmd[] = [];
  const chains: Array<[string, Expr[][]]> = [
    [ch.in, inChainRules(net)],
    [ch.out, outChainRules(net)],
    [ch.post, postChainRules(net)],
    [ch.masq, masqChainRules(net)],
    [ch.notrack, notrackChainRules(net)],
  ];
  for (const [name, rules] of chains) {
    cmds.push(addChain(name), flushChain(name));
    for (const r of rules) cmds.push(addRule(name, r, comment));
  }
  cmds.push(elementCmd('add', MAP.fwdIn, [[net.bridge, jump(ch.in)]]));
  cmds.push(elementCmd('add', MAP.fwdOut, [[net.bridge, jump(ch.out)]]));
  cmds.push(elementCmd('add', SET_BRIDGES, [net.bridge]));
  // An element that must NOT exist is added and deleted in the same transaction: absent
  // afterwards whether or not it existed, without having to list the map first.
  const postElem: Json[] = [[net.bridge, jump(ch.post)]];
  cmds.push(elementCmd('add', MAP.postOut, postElem));
  if (net.internal) cmds.push(elementCmd('delete', MAP.postOut, [net.bridge]));

  const masqOn = net.masquerade && !net.internal;
  for (const family of [4, 6] as const) {
    const mapName = family === 4 ? MAP.masq4 : MAP.masq6;
    const mine = v4v6(net.subnets, family).map((x) => canonicalCidr(x.cidr));
    if (mine.length) {
      cmds.push(elementCmd('add', mapName, mine.map((c) => [prefix(c), jump(ch.masq)])));
      if (!masqOn) cmds.push(elementCmd('delete', mapName, mine.map((c) => prefix(c))));
    }
    // When the snapshot holds the map (optional), also drop elements of subnets the network
    // no longer has.
    const stale = (s.maps.get(mapName) ?? []).filter((e) => {
      const cidr = keyCidr(e.key);
      return jumpTarget(e.value) === ch.masq && (cidr === undefined || !mine.includes(cidr));
    });
    if (stale.length) cmds.push(elementCmd('delete', mapName, stale.map((e) => e.key)));
  }

  // Dispatch to notrack-BR by source subnet (both directions carry the subnet as source).
  // Local networks never get an element (a network does not change between local and multi-host).
  const notrackElems = net.clusterDevice ? v4v6(net.subnets, 4).map((x) => [prefix(canonicalCidr(x.cidr)), jump(ch.notrack)]) : [];
  if (notrackElems.length) cmds.push(elementCmd('add', MAP.notrack4, notrackElems));

  for (const family of s.dockerUser) {
    const mine = s.userRules.filter((r) => r.family === family && r.ifname === net.bridge);
    const complete = mine.length === 2 && mine.some((r) => r.dir === 'iifname') && mine.some((r) => r.dir === 'oifname');
    if (complete) continue;
    for (const r of mine) cmds.push(dockerUserDelete(r));
    cmds.push(...dockerUserInsert(family, net.bridge));
  }
  return cmds;
}

/** Commands removing everything of one network (found in the snapshot), port maps included. */
export function removeNetworkCommands(net: Pick<FirewallNetwork, 'id' | 'bridge'>, s: Snapshot): NftCmd[] {
  const ch = netChains(net.bridge);
  const ourChains = new Set(Object.values(ch));
  const cmds: NftCmd[] = [];
  if (s.tableExists) {
    for (const mapName of Object.values(MAP)) {
      const keys = (s.maps.get(mapName) ?? []).filter((e) => ourChains.has(jumpTarget(e.value) ?? '')).map((e) => e.key);
      if (keys.length) cmds.push(elementCmd('delete', mapName, keys));
    }
    cmds.push(elementCmd('add', SET_BRIDGES, [net.bridge]), elementCmd('delete', SET_BRIDGES, [net.bridge]));
    const pms = portMapsInSnapshot(s).filter((p) => p.bridge === net.bridge);
    cmds.push(...removePortMapCommands(pms));
    // add + flush + delete: deleting works whether or not the chain existed.
    for (const name of ourChains) cmds.push(addChain(name), flushChain(name), deleteChain(name));
  }
  for (const r of s.userRules) if (r.ifname === net.bridge) cmds.push(dockerUserDelete(r));
  return cmds;
}

/** Removes the whole table and every DOCKER-USER rule tsnet wrote. */
export function removeAllCommands(s: Snapshot): NftCmd[] {
  const cmds: NftCmd[] = [];
  if (s.tableExists) cmds.push({ delete: { table: { family: FAMILY, name: TABLE } } });
  for (const r of s.userRules) cmds.push(dockerUserDelete(r));
  return cmds;
}

export function validateNetwork(net: FirewallNetwork): void {
  if (!net.bridge || Buffer.byteLength(net.bridge) > 15 || /[\s/:*]/.test(net.bridge)) {
    throw new Error(`invalid bridge name ${JSON.stringify(net.bridge)}`);
  }
  for (const s of net.subnets) {
    const c = parseCidr(s.cidr);
    if (!c || c.family !== s.family) throw new Error(`invalid IPv${s.family} subnet ${JSON.stringify(s.cidr)}`);
  }
}

// ---- port maps -------------------------------------------------------------------------------

function isAnyAddress(ip: string): boolean {
  return ip === '' || ip === '0.0.0.0' || ip === '::';
}

export interface PortMapElem {
  names: { addr: string; port: string };
  /** Keyed on the protocol and port only (every local address: the `any` maps). */
  any: boolean;
  key: Json;
  addrValue: string;
  portValue: number;
  comment: string;
}

/** A port map's two elements (validated): the maps they go to, their key, values and comment. */
export function portMapElem(r: PortMapRule): PortMapElem {
  if (!['tcp', 'udp', 'sctp'].includes(r.proto)) throw new Error(`invalid protocol ${JSON.stringify(r.proto)}`);
  for (const [what, p] of [['hostPort', r.hostPort], ['containerPort', r.containerPort]] as const) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`invalid ${what} ${p}`);
  }
  if (ipFamily(r.containerIP) !== r.family) throw new Error(`containerIP ${r.containerIP} is not IPv${r.family}`);
  const any = isAnyAddress(r.hostIP);
  if (!any && ipFamily(r.hostIP) !== r.family) throw new Error(`hostIP ${r.hostIP} is not IPv${r.family}`);
  const names = portMapNames(r.family, any ? 'any' : 'addr');
  const key: Json = { concat: any ? [r.proto, r.hostPort] : [normalizeIP(r.hostIP), r.proto, r.hostPort] };
  return {
    names,
    any,
    key,
    addrValue: normalizeIP(r.containerIP),
    portValue: r.containerPort,
    comment: `tsnet ${r.bridge} ${r.networkId}`,
  };
}

/** Elements grouped by the map they go to, maps in first-seen order (one command or message per map). */
export function byMap<T>(pairs: Array<[map: string, elem: T]>): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const [map, elem] of pairs) {
    const list = out.get(map);
    if (list) list.push(elem);
    else out.set(map, [elem]);
  }
  return out;
}

/** One transaction adding every rule: two elements each (new address, new port). */
export function addPortMapCommands(rules: PortMapRule[]): NftCmd[] {
  const pairs = rules.flatMap((r): Array<[string, Json]> => {
    const e = portMapElem(r);
    return [
      [e.names.addr, [{ elem: { val: e.key, comment: e.comment } }, e.addrValue]],
      [e.names.port, [{ elem: { val: e.key, comment: e.comment } }, e.portValue]],
    ];
  });
  return [...byMap(pairs)].map(([name, elems]) => elementCmd('add', name, elems));
}

export function removePortMapCommands(rules: PortMapRule[]): NftCmd[] {
  const pairs = rules.flatMap((r): Array<[string, Json]> => {
    const e = portMapElem(r);
    return [
      [e.names.addr, e.key],
      [e.names.port, e.key],
    ];
  });
  return [...byMap(pairs)].map(([name, elems]) => elementCmd('delete', name, elems));
}

/** Identity of a port map (what the kernel keys on). */
export function portMapKey(r: Pick<PortMapRule, 'family' | 'hostIP' | 'proto' | 'hostPort'>): string {
  const host = isAnyAddress(r.hostIP) ? (r.family === 4 ? '0.0.0.0' : '::') : normalizeIP(r.hostIP);
  return `${r.family}/${host}/${r.proto}/${r.hostPort}`;
}

/** Rebuilds PortMapRules from the port-map elements of a snapshot. */
export function portMapsInSnapshot(s: Snapshot): PortMapRule[] {
  const out: PortMapRule[] = [];
  for (const { family, kind } of ALL_PORT_MAPS) {
    const names = portMapNames(family, kind);
    const ports = new Map<string, Json>();
    for (const e of s.maps.get(names.port) ?? []) ports.set(JSON.stringify(e.key), e.value);
    for (const e of s.maps.get(names.addr) ?? []) {
      const parts = (e.key as { concat?: Json[] })?.concat;
      const port = ports.get(JSON.stringify(e.key));
      if (!Array.isArray(parts) || typeof port !== 'number' || typeof e.value !== 'string') continue;
      const [hostIP, proto, hostPort] = kind === 'any' ? [family === 4 ? '0.0.0.0' : '::', parts[0], parts[1]] : parts;
      const [, bridge = '', networkId = ''] = (e.comment ?? '').split(' ');
      out.push({
        networkId,
        bridge,
        // nft may print the protocol of a concatenated key as its number (6) rather than its name.
        proto: (typeof proto === 'number' ? PROTO_NAMES[proto] : proto) as PortMapRule['proto'],
        family,
        hostIP: normalizeIP(String(hostIP)),
        hostPort: Number(hostPort),
        containerIP: normalizeIP(e.value),
        containerPort: port,
      });
    }
  }
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

/** List commands for everything applyNetwork / removeNetwork need to know. */
export function snapshotListCommands(opts: { portMaps: boolean; maps?: boolean; dockerUser: Array<'ip' | 'ip6'> }): NftCmd[] {
  const maps: string[] = opts.maps === false ? [] : [...Object.values(MAP)];
  if (opts.portMaps) for (const { family, kind } of ALL_PORT_MAPS) maps.push(...Object.values(portMapNames(family, kind)));
  const cmds: NftCmd[] = maps.map((name) => ({ list: { map: { ...tbl, name } } }));
  for (const family of opts.dockerUser) cmds.push({ list: { chain: { family, table: 'filter', name: DOCKER_USER } } });
  return cmds;
}

// ---- describe --------------------------------------------------------------------------------

export function describeNetwork(net: FirewallNetwork, backend: string, dockerUserFamilies: string[]): string[] {
  const br = net.bridge;
  const ch = netChains(br);
  const lines: string[] = [`nftables table inet ${TABLE}: chains ${ch.in}, ${ch.out}, ${ch.post}, ${ch.masq}`];
  if (net.internal) {
    lines.push(`internal: traffic between ${br} and any other interface is dropped (both directions); no masquerade`);
  } else {
    lines.push(`isolation: new traffic into ${br} from other interfaces dropped, except replies (ct established,related) and published ports (ct status dnat)`);
    lines.push(`isolation: new traffic from ${br} to Docker bridges (${DOCKER_BRIDGE_PATTERNS.join(', ')}) dropped`);
    const masq = net.subnets.filter(() => net.masquerade).map((s) => s.cidr);
    lines.push(masq.length ? `masquerade: ${masq.join(', ')} leaving via interfaces other than ${br}` : 'masquerade: off');
    lines.push(`loopback: packets arriving on ${br} for 127.0.0.0/8 dropped unless they answer the host's own DNAT'd connection; ports published on 127.0.0.1 are DNAT'd only for the host's own traffic`);
    lines.push(`hairpin: published-port traffic from ${net.subnets.map((s) => s.cidr).join(', ') || '(no subnet)'} back into ${br} is masqueraded; localhost (127.0.0.0/8) DNAT into ${br} is masqueraded`);
  }
  if (net.clusterDevice) {
    const v4 = v4v6(net.subnets, 4).map((s) => s.cidr).join(', ');
    lines.push(`multi-host: ${v4} from other hosts via ${net.clusterDevice} ${net.icc ? 'enters' : 'is dropped (icc off)'}; other networks' addresses do not`);
    lines.push(`multi-host: container-to-container traffic of ${v4} on ${br} and ${net.clusterDevice} (not to the gateway) skips conntrack (chain notrack-${br}); everything else stays tracked`);
  }
  lines.push(net.icc ? `icc: on (containers on ${br} may talk to each other)` : `icc: off (bridged traffic between ports of ${br} dropped; needs br_netfilter)`);
  if (backend === 'iptables-legacy') {
    lines.push(`DOCKER-USER (iptables-legacy, through libip4tc): -i ${br} -j ACCEPT, -o ${br} -j ACCEPT`);
  } else if (dockerUserFamilies.length) {
    lines.push(`DOCKER-USER (${dockerUserFamilies.join(', ')}): iifname ${br} accept, oifname ${br} accept (comment "${USER_COMMENT}")`);
  } else {
    lines.push('DOCKER-USER: not present (no Docker iptables chains), nothing added');
  }
  return lines;
}
