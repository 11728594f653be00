/**
 * A minimal Docker Engine API client over its Unix socket (node:http with socketPath), so the
 * driver package needs no Docker SDK at run time. Only read calls: the CLI's, and the driver's start-up check for networks removed while it was down.
 */
import * as http from 'node:http';

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
  get<T>(urlPath: string, timeoutMs = 10_000): Promise<T | undefined> {
    const sock = this.socketPath;
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: sock, path: urlPath, method: 'GET', headers: { Host: 'docker' }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 404) return resolve(undefined);
          if ((res.statusCode ?? 500) >= 400) {
            let msg = text;
            try {
              msg = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              /* not JSON */
            }
            return reject(new DockerError(`Docker answered ${res.statusCode} to GET ${urlPath}: ${msg.trim().slice(0, 300)}`, res.statusCode));
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new DockerError(`Docker answered GET ${urlPath} with something that is not JSON`, res.statusCode));
          }
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new DockerError(`Docker is not running (no socket at ${sock})`));
        else if (e.code === 'EACCES' || e.code === 'EPERM') reject(new DockerError(`permission denied on ${sock}: run as root or as a member of the docker group`));
        else reject(new DockerError(`cannot reach Docker at ${sock}: ${e.message}`));
      });
      req.end();
    });
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
