/**
 * The libnetwork remote network-driver API, as dockerd speaks it (Docker Engine 20.10). Field
 * names are Docker's own (moby's libnetwork/drivers/remote/api/api.go).
 *
 * Requests are zod schemas, and their TypeScript types are inferred from them: the schema the API
 * layer checks a body with is the type the core receives. Only structure is checked here; meaning
 * (subnets, options, addresses, port bindings) is the core's. Unknown extra fields are allowed:
 * newer dockerd versions add some.
 */
import { z } from 'zod';

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/**
 * Any such ID works, also names of Object.prototype members ("__proto__", "toString"): the core
 * keeps records in prototype-less containers and looks them up as own properties only.
 */
const dockerId = z
  .string()
  .regex(/^[0-9a-zA-Z_.-]{1,128}$/, 'must be a Docker ID (letters, digits, "_", ".", "-")')
  .refine((id) => !id.startsWith('.'), 'is not a Docker ID (it starts with ".")');

/** One entry of IPv4Data / IPv6Data: what Docker's IPAM gave the network. */
const ipamData = z.object({
  AddressSpace: z.string().optional(),
  /** CIDR of the pool, e.g. "10.232.1.0/24". */
  Pool: z.string(),
  /** Gateway with prefix length, e.g. "10.232.1.1/24". */
  Gateway: z.string().optional(),
  /** Auxiliary addresses: name -> "addr/len". */
  AuxAddresses: z.record(z.string(), z.string()).nullish(),
});
export type IPAMData = z.infer<typeof ipamData>;

export const createNetworkRequestSchema = z.object({
  NetworkID: dockerId,
  /** com.docker.network.enable_ipv6, com.docker.network.internal, com.docker.network.generic (-o). */
  Options: z.record(z.string(), z.unknown()).nullish(),
  IPv4Data: z.array(ipamData).nullish(),
  IPv6Data: z.array(ipamData).nullish(),
});
export type CreateNetworkRequest = z.infer<typeof createNetworkRequestSchema>;

export const networkRequestSchema = z.object({ NetworkID: dockerId });
export type NetworkRequest = z.infer<typeof networkRequestSchema>;

export const endpointRequestSchema = z.object({ NetworkID: dockerId, EndpointID: dockerId });
export type EndpointRequest = z.infer<typeof endpointRequestSchema>;

/**
 * com.docker.network.portmap (port bindings, checked by the core), ...exposedports, and
 * ...endpoint.macaddress (base64; Interface.MacAddress is what tsnet reads).
 */
const endpointOptions = z.record(z.string(), z.unknown()).nullish();

export const createEndpointRequestSchema = endpointRequestSchema.extend({
  Interface: z
    .object({
      /** "addr/len" or "". */
      Address: z.string().optional(),
      AddressIPv6: z.string().optional(),
      MacAddress: z.string().optional(),
    })
    .nullish(),
  Options: endpointOptions,
});
export type CreateEndpointRequest = z.infer<typeof createEndpointRequestSchema>;

export const joinRequestSchema = endpointRequestSchema.extend({
  /** The container's network namespace, e.g. /var/run/docker/netns/…. */
  SandboxKey: z.string().min(1).max(4096),
  Options: endpointOptions,
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const programExternalConnectivityRequestSchema = endpointRequestSchema.extend({ Options: endpointOptions });
export type ProgramExternalConnectivityRequest = z.infer<typeof programExternalConnectivityRequestSchema>;

/** One port binding of com.docker.network.portmap, as the core has checked it (ports.ts). */
export interface PortBinding {
  /** 6 = tcp, 17 = udp, 132 = sctp. */
  Proto: number;
  /** Container IP (Docker sends ""). */
  IP: string;
  /** Container port. */
  Port: number;
  /** Host address, "" for every address. */
  HostIP: string;
  /** 0 means "pick one". */
  HostPort: number;
  HostPortEnd: number;
}

// ---- responses (what tsnet sends; dockerd checks them) ----

export interface CreateEndpointResponse {
  /** Only fields Docker left empty may be filled in; never change what Docker set. */
  Interface?: { MacAddress?: string };
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
}

export interface EndpointOperInfoResponse {
  Value: Record<string, unknown>;
}

export interface CapabilitiesResponse {
  Scope: 'local' | 'global';
  ConnectivityScope?: 'local' | 'global';
}

/** A refusal: HTTP 200 with this body, as dockerd expects. */
export interface ErrorResponse {
  Err: string;
}

export const PROTO_NAMES: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
