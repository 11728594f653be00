/**
 * A minimal Docker Engine API client over its Unix socket (shared/unix-json), so the
 * driver package needs no Docker SDK at run time. Only read calls: the CLI's, and the driver's start-up check for networks removed while it was down.
 */
import { getUnixJson, type UnixJsonAnswer } from '@tsnet/shared';

/** Docker could not be asked, or refused: the message says which and what to do. */
export class DockerError extends Error {
  constructor(
    message: string,
    /** HTTP status Docker answered with; undefined when the socket itself failed. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DockerError';
  }
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The Docker socket: DOCKER_HOST when it is unix://PATH, else /var/run/docker.sock. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host && host.startsWith('unix://')) return host.slice('unix://'.length);
  return DEFAULT_DOCKER_SOCKET;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  HostConfig?: { NetworkMode?: string };
}

export interface ContainerInspect {
  Id: string;
  /** "/name" */
  Name: string;
  State: { Running: boolean; Pid: number; Status: string };
  HostConfig: { NetworkMode: string };
  NetworkSettings: {
    SandboxKey: string;
    Networks?: Record<string, { NetworkID: string; EndpointID: string; IPAddress: string; MacAddress: string }>;
  };
}

export interface NetworkInspect {
  Id: string;
  Name: string;
  Driver: string;
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
}

export class DockerClient {
  constructor(readonly socketPath = dockerSocketPath()) {}

  /** GET `urlPath`; resolves undefined on 404, throws DockerError on anything else that fails. */
  async get<T>(urlPath: string, timeoutMs = 10_000): Promise<T | undefined> {
    const sock = this.socketPath;
    let r: UnixJsonAnswer;
    try {
      r = await getUnixJson(sock, urlPath, { timeoutMs, host: 'docker' });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') throw new DockerError(`Docker is not running (no socket at ${sock})`);
      if (e.code === 'EACCES' || e.code === 'EPERM') throw new DockerError(`permission denied on ${sock}: run as root or as a member of the docker group`);
      throw new DockerError(`cannot reach Docker at ${sock}: ${e.message}`);
    }
    if (r.status === 404) return undefined;
    if (r.status >= 400) {
      const msg = (r.isJson ? (r.json as { message?: string } | null)?.message : undefined) ?? r.text;
      throw new DockerError(`Docker answered ${r.status} to GET ${urlPath}: ${msg.trim().slice(0, 300)}`, r.status);
    }
    if (!r.isJson) throw new DockerError(`Docker answered GET ${urlPath} with something that is not JSON`, r.status);
    return r.json as T;
  }

  /** A container by name or (prefix of) ID; undefined when Docker knows none. */
  inspectContainer(nameOrId: string): Promise<ContainerInspect | undefined> {
    return this.get<ContainerInspect>(`/containers/${encodeURIComponent(nameOrId)}/json`);
  }

  async listContainers(all = false): Promise<ContainerSummary[]> {
    return (await this.get<ContainerSummary[]>(`/containers/json${all ? '?all=1' : ''}`)) ?? [];
  }

  inspectNetwork(id: string): Promise<NetworkInspect | undefined> {
    return this.get<NetworkInspect>(`/networks/${encodeURIComponent(id)}`);
  }
}

/** "/name" → "name". */
export function containerName(c: { Name?: string; Names?: string[] }): string {
  const n = c.Name ?? c.Names?.[0] ?? '';
  return n.replace(/^\//, '');
}

export interface NetworkSummary {
  Id: string;
  Name: string;
  Driver: string;
}

export function listNetworks(client: DockerClient): Promise<NetworkSummary[] | undefined> {
  return client.get<NetworkSummary[]>('/networks');
}
