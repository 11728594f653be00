/**
 * Plain-text formatting for the `tsnet` CLI: aligned tables and short renderings of ports,
 * durations and IDs. Pure functions, no I/O.
 */
import type { PortMapStatus, StatusReport } from '@tsnet/shared';
import type { InspectPeer, InspectReport, PodMember } from './inspect';
import type { PortRow } from './status-client';

/**
 * Text from containers and the kernel (interface names, container names, paths) made safe for a
 * terminal: control characters (C0, DEL, C1), line and paragraph separators and bidirectional
 * overrides become \xHH / \uHHHH escapes, and a backslash becomes \\, so a name can neither
 * send escape sequences to the admin's terminal nor pass for another name.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Columns separated by two spaces, each as wide as its widest cell; no trailing blanks. Every cell is escaped. */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map((cell) => printable(cell ?? '')));
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      headers
        .map((_, i) => (r[i] ?? '').padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A titled section: the title, then the table or "(none)". */
export function section(title: string, headers: string[], rows: string[][]): string {
  return `${title}\n${rows.length > 0 ? table(headers, rows) : '(none)'}`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function dash(v: string | number | undefined | null): string {
  return v === undefined || v === null || v === '' ? '-' : String(v);
}

/** 3725 → "1h2m5s". */
export function duration(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d${h}h${m}m`;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function hostPart(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** "0.0.0.0:8080->80/tcp", like `docker ps` shows ports. */
export function portMap(p: Pick<PortMapStatus, 'proto' | 'hostIP' | 'hostPort' | 'containerPort'>): string {
  return `${hostPart(p.hostIP || '0.0.0.0')}:${p.hostPort}->${p.containerPort}/${p.proto}`;
}

/** Address without its prefix length: "10.0.0.2/24" → "10.0.0.2". */
export function stripPrefix(cidr: string | undefined): string {
  return cidr ? cidr.replace(/\/\d+$/, '') : '';
}

/** "container:<64 hex>" → "container:<12 hex>". */
function shortMode(mode: string): string {
  return mode.replace(/^container:([0-9a-f]{12})[0-9a-f]{52}$/, 'container:$1');
}

function memberText(m: PodMember, all: PodMember[]): string {
  let rel: string;
  if (m.relation === 'joined') {
    const target = m.networkMode.slice('container:'.length);
    const owner = all.find((o) => o.id.startsWith(target) || o.name === target);
    rel = `joined with --network container:${owner ? owner.name : shortId(target)}`;
  } else if (m.relation === 'host') rel = 'host network';
  else rel = 'owner';
  return `${printable(m.name)} (${printable(rel)})${m.self ? ' <- this container' : ''}`;
}

export function formatInspect(r: InspectReport): string {
  const out: string[] = [];
  const p = printable;
  out.push(`container   ${p(r.container.name)} (${p(shortId(r.container.id))})  pid ${r.container.pid}  network mode ${p(shortMode(r.container.networkMode))}`);
  out.push(`namespace   ${p(r.namespace.path)}  net:[${r.namespace.inode}]${r.container.sandboxKey ? `  sandbox ${p(r.container.sandboxKey)}` : ''}`);
  const others = r.sharedWith.length;
  out.push(`shared by   ${others} container${others === 1 ? '' : 's'}`);
  for (const m of r.sharedWith) out.push(`            - ${memberText(m, r.sharedWith)}`);
  out.push('');
  out.push(
    section(
      'INTERFACES',
      ['NAME', 'STATE', 'MTU', 'MAC', 'ADDRESSES', 'HOST VETH', 'BRIDGE', 'TSNET NETWORK'],
      r.interfaces.map((i) => [
        i.name,
        i.state,
        String(i.mtu),
        dash(i.mac),
        dash(i.addresses.join(',')),
        dash(i.host?.veth),
        dash(i.host?.bridge),
        i.host?.tsnet ? (i.host.tsnet.networkName ?? shortId(i.host.tsnet.networkId)) : '-',
      ]),
    ),
  );
  out.push('');
  out.push(section('ROUTES', ['DESTINATION', 'GATEWAY', 'DEV'], r.routes.map((x) => [x.dst === '0.0.0.0/0' || x.dst === '::/0' ? `default (${x.dst})` : x.dst, dash(x.gateway), dash(x.dev)])));
  out.push('');
  out.push(section('LISTENING SOCKETS', ['PROTO', 'ADDRESS', 'PORT', 'STATE'], r.sockets.map((s) => [s.proto, s.localAddress, String(s.localPort), s.state])));
  if (r.peers.length > 0) {
    out.push('');
    out.push(section('PEERS (the container\'s ARP cache)', ['ADDRESS', 'MAC', 'IFACE', 'WHERE'], r.peers.map((x) => [x.address, dash(x.mac), x.interface, peerWhere(x)])));
  }
  if (r.remoteHosts.length > 0) {
    out.push('');
    out.push(
      section(
        'REMOTE HOSTS (multi-host networks)',
        ['NETWORK', 'HOST', 'HOSTNAME', 'VTEP MAC', 'VIA', 'BLOCKS'],
        r.remoteHosts.map((h) => [h.network, h.host, h.hostname, h.vtepMac, h.via, dash(h.blocks.join(','))]),
      ),
    );
  }
  for (const n of r.notes) out.push(`\nnote: ${printable(n)}`);
  return out.join('\n');
}

function peerWhere(x: InspectPeer): string {
  switch (x.where) {
    case 'gateway':
      return 'gateway (this host)';
    case 'local':
      return `local: ${x.container}`;
    case 'remote':
      return `REMOTE host ${x.remote!.host} (${x.remote!.hostname}) via ${x.remote!.via}, VTEP ${x.remote!.vtepMac}, block ${x.remote!.block}`;
    default:
      return 'unknown (no endpoint here, no block of another host)';
  }
}

/** Names Docker knows for tsnet's objects: network ID → name, endpoint ID → container name. */
export interface Names {
  networks: Map<string, string>;
  endpoints: Map<string, string>;
}

export const NO_NAMES: Names = { networks: new Map(), endpoints: new Map() };

function endpointState(e: { joined: boolean; present: boolean }): string {
  const s = e.joined ? 'joined' : 'created';
  return e.present ? s : `${s}, VETH MISSING`;
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function formatStatus(r: StatusReport, names: Names = NO_NAMES, statusSocket?: string): string {
  const out: string[] = [];
  const p = printable;
  out.push(`tsnet ${p(r.version)}  pid ${r.pid}  up ${duration(r.uptimeSeconds)}  firewall ${p(r.firewallBackend)}`);
  out.push(`plugin socket ${p(r.pluginSocket)}  state ${p(r.stateDir)}${statusSocket ? `  status ${p(statusSocket)}` : ''}`);
  out.push('');
  out.push(
    section(
      'NETWORKS',
      ['NAME', 'ID', 'BRIDGE', 'SUBNETS', 'GATEWAYS', 'ENDPOINTS', 'BRIDGE STATE'],
      r.networks.map((n) => [
        names.networks.get(n.id) ?? '-',
        shortId(n.id),
        n.bridge + (n.bridgeAdopted ? ' (adopted)' : ''),
        dash(n.subnets.map((s) => s.subnet).join(',')),
        dash(n.subnets.map((s) => s.gateway).join(',')),
        String(n.endpoints.length),
        n.present ? 'present' : 'MISSING',
      ]),
    ),
  );
  out.push('');
  out.push(
    section(
      'ENDPOINTS',
      ['NETWORK', 'CONTAINER', 'ENDPOINT', 'HOST VETH', 'CONTAINER VETH', 'MAC', 'IPV4', 'IPV6', 'PORTS', 'STATE'],
      r.networks.flatMap((n) =>
        n.endpoints.map((e) => [
          names.networks.get(n.id) ?? shortId(n.id),
          names.endpoints.get(e.id) ?? '-',
          shortId(e.id),
          e.hostVeth,
          e.containerVeth,
          e.mac,
          dash(e.ipv4),
          dash(e.ipv6),
          dash(e.ports.map(portMap).join(',')),
          endpointState(e),
        ]),
      ),
    ),
  );
  if (r.cluster) {
    const c = r.cluster;
    out.push('');
    out.push(`CLUSTER  etcd ${c.etcd.endpoints.join(',')} ${c.etcd.healthy ? 'healthy' : `UNREACHABLE${c.etcd.lastError ? ` (${c.etcd.lastError})` : ''}`}  vxlan ${c.vxlan.link} vni ${c.vxlan.vni} port ${c.vxlan.port} mtu ${c.vxlan.mtu}`);
    if (c.fastPath) {
      const f = c.fastPath;
      out.push(f.enabled ? `FAST PATH  on: ${f.networks.length > 0 ? f.networks.join(',') : 'no network with ICC on'}, ${f.endpoints} endpoint chain(s)` : 'FAST PATH  off (TSNET_FAST_PATH=0)');
    }
    out.push(
      section(
        'HOSTS',
        ['VTEP', 'HOSTNAME', 'MAC', 'LEASE AGE', 'BLOCKS', ''],
        c.hosts.map((h) => [h.address, h.hostname, h.vtepMac, duration(h.leaseAgeSeconds), dash(h.blocks.join(',')), h.self ? '(this host)' : '']),
      ),
    );
    out.push('');
    out.push(section('REMOTE ROUTES', ['ROUTE'], c.remoteRoutes.map((x) => [x])));
  }
  const calls = Object.entries(r.calls).sort(([a], [b]) => a.localeCompare(b));
  if (calls.length > 0) {
    out.push('');
    out.push(section('CALLS', ['METHOD', 'COUNT', 'ERRORS', 'P50 MS', 'P90 MS', 'P99 MS', 'MAX MS'], calls.map(([m, s]) => [m, String(s.count), String(s.errors), ms(s.p50Ms), ms(s.p90Ms), ms(s.p99Ms), ms(s.maxMs)])));
  }
  for (const w of r.warnings) out.push(`\nwarning: ${printable(w)}`);
  return out.join('\n');
}

export function formatPorts(rows: PortRow[], names: Names = NO_NAMES): string {
  return table(
    ['NETWORK', 'CONTAINER', 'PROTO', 'HOST IP', 'HOST PORT', 'CONTAINER IP', 'CONTAINER PORT', 'PICKED'],
    rows.map((p) => [
      names.networks.get(p.networkId) ?? shortId(p.networkId),
      names.endpoints.get(p.endpointId) ?? '-',
      p.proto,
      p.hostIP,
      String(p.hostPort),
      p.containerIP,
      String(p.containerPort),
      p.picked ? 'yes' : 'no',
    ]),
  );
}
