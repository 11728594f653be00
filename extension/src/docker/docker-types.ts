/**
 * The parts of Docker's JSON the extension reads: `docker network inspect` (GET /networks/{id})
 * and `docker inspect` of a container (GET /containers/{id}/json). Every field is optional so
 * data captured from any engine version type-checks; the model builder decides defaults.
 */

export interface DockerIPAMConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface DockerNetworkContainer {
  Name?: string;
  EndpointID?: string;
  MacAddress?: string;
  /** "addr/len" or "" */
  IPv4Address?: string;
  IPv6Address?: string;
}

export interface DockerNetwork {
  Name: string;
  Id: string;
  Created?: string;
  Scope?: string;
  Driver?: string;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: DockerIPAMConfig[] | null };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  Containers?: Record<string, DockerNetworkContainer> | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface DockerEndpointSettings {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  IPv6Gateway?: string;
  MacAddress?: string;
}

export interface DockerPortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface DockerContainer {
  Id: string;
  /** "/name" as Docker reports it. */
  Name?: string;
  Created?: string;
  State?: { Status?: string; Running?: boolean; Pid?: number; StartedAt?: string; ExitCode?: number };
  Config?: { Image?: string; Labels?: Record<string, string> | null; ExposedPorts?: Record<string, object> | null; Cmd?: string[] | null };
  Image?: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: {
    SandboxKey?: string;
    Ports?: Record<string, DockerPortBinding[] | null> | null;
    Networks?: Record<string, DockerEndpointSettings> | null;
  };
}

/** The body of POST /networks/create (dockerode's createNetwork) for what the user entered. */
export interface CreateNetworkBody {
  Name: string;
  Driver: string;
  CheckDuplicate: boolean;
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
}
