/**
 * Port publishing plan: turns Docker's port bindings for one endpoint into concrete port maps,
 * picking host ports where Docker asked for any, and refusing a host port already taken by a
 * process or by another port map. Pure: the caller passes what is taken.
 */
import { isIPv4, isIPv6, normalizeIP, PROTO_NAMES, type PortBinding, type Proto } from '@tsnet/shared';
import type { PortMapRecord } from '../state/types';
import { ConflictError, DriverError } from './errors';

/** A socket a process holds on the host. */
export interface BoundSocket {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  address: string;
  port: number;
}

export interface PortPlanInput {
  bindings: PortBinding[];
  /** Endpoint addresses without prefix. */
  containerIPv4?: string;
  containerIPv6?: string;
  hostBindingIPv4: string;
  hostBindingIPv6: string;
  /** Publish on IPv6 too when Docker gave no host address (dual-stack networks). */
  ipv6: boolean;
  portRange: { start: number; end: number };
  /** Port maps already programmed (all networks). */
  taken: PortMapRecord[];
  /** Sockets bound by processes on the host. */
  bound: BoundSocket[];
  /** Where to start looking for a free port (rotates so released ports are not reused at once). */
  cursor?: number;
}

const WILDCARD = new Set(['0.0.0.0', '::']);

function addressesOverlap(familyA: 4 | 6, a: string, familyB: 4 | 6, b: string): boolean {
  if (familyA !== familyB) return false;
  return a === b || WILDCARD.has(a) || WILDCARD.has(b);
}

function socketTakes(s: BoundSocket, proto: Proto, family: 4 | 6, hostIP: string, port: number): boolean {
  if (s.port !== port || s.proto !== proto) return false;
  // A socket on [::] usually also takes IPv4 (bindv6only=0).
  if (s.family === 6 && s.address === '::') return true;
  return addressesOverlap(s.family, s.address, family, hostIP);
}

function describeTaker(maps: PortMapRecord[], bound: BoundSocket[], proto: Proto, family: 4 | 6, hostIP: string, port: number): string | undefined {
  const m = maps.find((t) => t.proto === proto && t.hostPort === port && addressesOverlap(t.family, t.hostIP, family, hostIP));
  if (m) return `another container (${m.containerIP}:${m.containerPort}) already publishes ${m.hostIP}:${port}/${proto}`;
  const s = bound.find((b) => socketTakes(b, proto, family, hostIP, port));
  if (s) return `a process on the host is already bound to ${s.address}:${port}/${proto}`;
  return undefined;
}

export function validateBinding(b: unknown, i: number): PortBinding {
  const where = `port binding ${i + 1}`;
  if (!b || typeof b !== 'object') throw new DriverError(`${where}: not an object`);
  const p = b as Record<string, unknown>;
  if (typeof p.Proto !== 'number' || !PROTO_NAMES[p.Proto]) throw new DriverError(`${where}: protocol ${JSON.stringify(p.Proto)} is not supported; use tcp, udp or sctp`);
  const port = p.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw new DriverError(`${where}: container port ${JSON.stringify(port)} must be 1-65535`);
  const hostPort = p.HostPort ?? 0;
  const hostPortEnd = p.HostPortEnd ?? hostPort;
  for (const [name, v] of [['host port', hostPort], ['host port range end', hostPortEnd]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new DriverError(`${where}: ${name} ${JSON.stringify(v)} must be 0-65535`);
  }
  if ((hostPortEnd as number) !== 0 && (hostPortEnd as number) < (hostPort as number)) throw new DriverError(`${where}: host port range ${hostPort}-${hostPortEnd} ends before it starts`);
  const hostIP = p.HostIP ?? '';
  if (typeof hostIP !== 'string' || (hostIP !== '' && !isIPv4(hostIP) && !isIPv6(hostIP))) throw new DriverError(`${where}: host address ${JSON.stringify(hostIP)} is not an IPv4 or IPv6 address`);
  return { Proto: p.Proto, IP: typeof p.IP === 'string' ? p.IP : '', Port: port, HostIP: hostIP, HostPort: hostPort as number, HostPortEnd: hostPortEnd as number };
}

export function planPortMaps(input: PortPlanInput): PortMapRecord[] {
  const result: PortMapRecord[] = [];
  const taken = [...input.taken];
  let cursor = input.cursor ?? input.portRange.start;
  for (const b of input.bindings) {
    const proto = PROTO_NAMES[b.Proto];
    const targets: { family: 4 | 6; hostIP: string; containerIP: string }[] = [];
    if (b.HostIP === '') {
      if (!input.containerIPv4) throw new DriverError(`cannot publish port ${b.Port}/${proto}: the container has no IPv4 address on this network`);
      targets.push({ family: 4, hostIP: input.hostBindingIPv4, containerIP: input.containerIPv4 });
      if (input.ipv6 && input.containerIPv6 && input.hostBindingIPv4 === '0.0.0.0') {
        targets.push({ family: 6, hostIP: input.hostBindingIPv6, containerIP: input.containerIPv6 });
      }
    } else if (isIPv4(b.HostIP)) {
      if (!input.containerIPv4) throw new DriverError(`cannot publish ${b.HostIP}:${b.HostPort}: the container has no IPv4 address on this network`);
      targets.push({ family: 4, hostIP: normalizeIP(b.HostIP), containerIP: input.containerIPv4 });
    } else {
      if (!input.containerIPv6) throw new DriverError(`cannot publish on IPv6 host address ${b.HostIP}: the container has no IPv6 address on this network; create the network with --ipv6 and an IPv6 --subnet`);
      targets.push({ family: 6, hostIP: normalizeIP(b.HostIP), containerIP: input.containerIPv6 });
    }
    const isFree = (port: number) => targets.every((t) => !describeTaker(taken, input.bound, proto, t.family, t.hostIP, port));
    let hostPort: number;
    let picked = false;
    if (b.HostPort === 0) {
      const { start, end } = input.portRange;
      const size = end - start + 1;
      let found = -1;
      for (let i = 0; i < size; i++) {
        const candidate = start + ((cursor - start + i) % size + size) % size;
        if (isFree(candidate)) {
          found = candidate;
          break;
        }
      }
      if (found < 0) throw new ConflictError(`no free host port for ${b.Port}/${proto} in ${start}-${end}; free one or widen tsnet.port_range`);
      hostPort = found;
      picked = true;
      cursor = found + 1 > end ? start : found + 1;
    } else if (b.HostPortEnd > b.HostPort) {
      let found = -1;
      for (let p = b.HostPort; p <= b.HostPortEnd; p++) {
        if (isFree(p)) {
          found = p;
          break;
        }
      }
      if (found < 0) throw new ConflictError(`every host port in ${b.HostPort}-${b.HostPortEnd}/${proto} is taken; choose another range`);
      hostPort = found;
    } else {
      hostPort = b.HostPort;
      for (const t of targets) {
        const why = describeTaker(taken, input.bound, proto, t.family, t.hostIP, hostPort);
        if (why) throw new ConflictError(`cannot publish ${t.hostIP}:${hostPort}/${proto}: ${why}; choose another host port`);
      }
    }
    for (const t of targets) {
      const rec: PortMapRecord = { proto, family: t.family, hostIP: t.hostIP, hostPort, containerIP: t.containerIP, containerPort: b.Port, picked };
      result.push(rec);
      taken.push(rec);
    }
  }
  return result;
}

/** Docker's wire form of a port map, with the host port actually used. */
export function toPortBinding(r: PortMapRecord): PortBinding {
  const proto = Number(Object.keys(PROTO_NAMES).find((k) => PROTO_NAMES[Number(k)] === r.proto));
  return { Proto: proto, IP: r.containerIP, Port: r.containerPort, HostIP: r.hostIP, HostPort: r.hostPort, HostPortEnd: r.hostPort };
}
