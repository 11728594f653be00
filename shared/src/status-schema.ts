/**
 * Schemas of the status API's answers (the types in status.ts), checked by every client (the
 * `tsnet` CLI, the VS Code extension), so a driver older or newer than the client gives a clear
 * message instead of a crash deep in the formatting code. Unknown fields are allowed: a newer
 * driver may add some.
 */
import { z } from 'zod';
import type { PortMapStatus, StatusReport } from './status';

const portMap = z.object({
  proto: z.enum(['tcp', 'udp', 'sctp']),
  hostIP: z.string(),
  hostPort: z.number().int(),
  containerIP: z.string(),
  containerPort: z.number().int(),
  picked: z.boolean(),
});

const endpoint = z.object({
  id: z.string(),
  networkId: z.string(),
  hostVeth: z.string(),
  containerVeth: z.string(),
  mac: z.string(),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
  sandboxKey: z.string().optional(),
  joined: z.boolean(),
  ports: z.array(portMap),
  present: z.boolean(),
});

const network = z.object({
  id: z.string(),
  bridge: z.string(),
  bridgeAdopted: z.boolean(),
  present: z.boolean(),
  subnets: z.array(
    z.object({
      family: z.union([z.literal(4), z.literal(6)]),
      subnet: z.string(),
      gateway: z.string(),
      ipRange: z.string().optional(),
      auxAddresses: z.record(z.string(), z.string()).optional(),
    }),
  ),
  options: z.object({
    icc: z.boolean(),
    masquerade: z.boolean(),
    internal: z.boolean(),
    ipv6: z.boolean(),
    mtu: z.number().optional(),
    hostBindingIPv4: z.string().optional(),
    hostBindingIPv6: z.string().optional(),
    containerIfacePrefix: z.string(),
    raw: z.record(z.string(), z.string()),
  }),
  endpoints: z.array(endpoint),
  firewall: z.array(z.string()),
  createdAt: z.string(),
});

export const statusReportSchema = z.object({
  version: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  pluginSocket: z.string(),
  stateDir: z.string(),
  firewallBackend: z.enum(['nftables', 'iptables-legacy', 'none']),
  networks: z.array(network),
  calls: z.record(z.string(), z.object({ count: z.number(), errors: z.number(), p50Ms: z.number(), p90Ms: z.number(), p99Ms: z.number(), maxMs: z.number() })),
  warnings: z.array(z.string()),
  cluster: z
    .object({
      etcd: z.object({ endpoints: z.array(z.string()), healthy: z.boolean(), lastError: z.string().optional() }),
      vxlan: z.object({ link: z.string(), vni: z.number(), port: z.number(), mtu: z.number(), containerMtu: z.number() }),
      self: z.string(),
      hosts: z.array(z.object({ address: z.string(), hostname: z.string(), vtepMac: z.string(), leaseAgeSeconds: z.number(), blocks: z.array(z.string()), self: z.boolean() })),
      pools: z.array(z.object({ cidr: z.string(), gateway: z.string().optional(), ownBlocks: z.array(z.string()), allocated: z.number() })),
      remoteRoutes: z.array(z.string()),
      allowedVteps: z.array(z.string()),
      fastPath: z.object({ enabled: z.boolean(), networks: z.array(z.string()), endpoints: z.number() }).optional(),
    })
    .optional(),
});

export const portRowsSchema = z.array(portMap.extend({ networkId: z.string(), endpointId: z.string() }));

export class StatusSkewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatusSkewError';
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** What to do when the driver at `where` sent something this client (version `client`) cannot read. */
function skewMessage(what: string, where: string, problem: string, driverVersion: unknown, client: string): string {
  const head = `the tsnet driver at ${where} answered ${what} in a form this client (tsnet ${client}) cannot read (${problem})`;
  if (typeof driverVersion !== 'string') return `${head}; the driver does not say its version, so it is probably older than this client: restart it from this version (npm start, or npm run plugin:upgrade for the plugin)`;
  const c = compareVersions(driverVersion, client);
  if (c < 0) return `${head}: the driver is older (${driverVersion}); restart it from this version (npm start, or npm run plugin:upgrade for the plugin)`;
  if (c > 0) return `${head}: the driver is newer (${driverVersion}); update this client to ${driverVersion} (git pull && npm run build, or the matching extension)`;
  return `${head}, though both are version ${client}: a bug; please report it with the output of GET /status`;
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i.path.length > 0 ? i.path.join('.') : 'the answer'}: ${i.message}`;
}

/** GET /status's body, checked; throws StatusSkewError naming which side to update. */
export function parseStatusReport(body: unknown, where: string, clientVersion: string): StatusReport {
  const r = statusReportSchema.safeParse(body);
  if (r.success) return r.data as StatusReport;
  throw new StatusSkewError(skewMessage('GET /status', where, firstIssue(r.error), (body as { version?: unknown } | null)?.version, clientVersion));
}

/** GET /ports's body, checked (it carries no version: the skew message says so). */
export function parsePortRows(body: unknown, where: string, clientVersion: string): (PortMapStatus & { networkId: string; endpointId: string })[] {
  const r = portRowsSchema.safeParse(body);
  if (r.success) return r.data;
  throw new StatusSkewError(skewMessage('GET /ports', where, firstIssue(r.error), undefined, clientVersion));
}
