/**
 * The libnetwork remote network-driver API, as dockerd speaks it (Docker Engine 20.10).
 * Field names are Docker's own; see ../shared/notes/remote-api-trace.txt for real requests.
 */

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

export type DriverMethod =
  | 'GetCapabilities'
  | 'CreateNetwork'
  | 'DeleteNetwork'
  | 'AllocateNetwork'
  | 'FreeNetwork'
  | 'CreateEndpoint'
  | 'DeleteEndpoint'
  | 'EndpointOperInfo'
  | 'Join'
  | 'Leave'
  | 'ProgramExternalConnectivity'
  | 'RevokeExternalConnectivity'
  | 'DiscoverNew'
  | 'DiscoverDelete';

/** One entry of IPv4Data / IPv6Data: what Docker's IPAM gave the network. */
export interface IPAMData {
  AddressSpace?: string;
  /** CIDR of the pool, e.g. "10.232.1.0/24". */
  Pool: string;
  /** Gateway with prefix length, e.g. "10.232.1.1/24". */
  Gateway?: string;
  /** Auxiliary addresses: name -> "addr/len". */
  AuxAddresses?: Record<string, string>;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: {
    'com.docker.network.enable_ipv6'?: boolean;
    'com.docker.network.internal'?: boolean;
    'com.docker.network.generic'?: Record<string, string>;
    [key: string]: unknown;
  };
  IPv4Data?: IPAMData[];
  IPv6Data?: IPAMData[];
}

export interface DeleteNetworkRequest {
  NetworkID: string;
}

export interface EndpointInterface {
  /** "addr/len" or "" */
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

/** Proto numbers Docker uses in port maps: 6 = tcp, 17 = udp, 132 = sctp. */
export type PortProto = 6 | 17 | 132;

export interface PortBinding {
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

export interface ExposedPort {
  Proto: number;
  Port: number;
}

export interface EndpointOptions {
  'com.docker.network.portmap'?: PortBinding[];
  'com.docker.network.endpoint.exposedports'?: ExposedPort[];
  /** base64; prefer Interface.MacAddress. */
  'com.docker.network.endpoint.macaddress'?: string;
  'com.docker.network.generic'?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface?: EndpointInterface;
  Options?: EndpointOptions;
}

export interface CreateEndpointResponse {
  /** Only fields Docker left empty may be filled in; never change what Docker set. */
  Interface?: EndpointInterface;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

export interface JoinRequest extends EndpointRequest {
  SandboxKey: string;
  Options?: EndpointOptions;
}

export interface StaticRoute {
  Destination: string;
  RouteType: 0 | 1; // 0 = next hop, 1 = connected
  NextHop?: string;
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  DisableGatewayService?: boolean;
}

export interface ProgramExternalConnectivityRequest extends EndpointRequest {
  Options?: EndpointOptions;
}

export interface EndpointOperInfoResponse {
  Value: Record<string, unknown>;
}

export interface CapabilitiesResponse {
  Scope: 'local' | 'global';
  ConnectivityScope?: 'local' | 'global';
}

export interface ErrorResponse {
  Err: string;
}

export const PROTO_NAMES: Record<number, 'tcp' | 'udp' | 'sctp'> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
