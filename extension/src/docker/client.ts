/**
 * The extension's one Docker client (dockerode) for the endpoint src/docker/endpoint.ts resolved
 * (setting, DOCKER_HOST, DOCKER_CONTEXT, the current docker context, else /var/run/docker.sock).
 * Reads snapshots for the model builder and performs the user's actions; no policy here.
 */
import Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_PLUGIN_SOCKET } from '@tsnet/shared';
import type { DockerContainer, DockerNetwork } from './docker-types';
import { dockerodeOptions, isLocalEndpoint, type DockerEndpoint } from './endpoint';
import { DialStdioAgent, sshArgs } from './ssh-agent';
import { ContainerCache, type ContainerListEntry, type Touched } from './container-cache';
import { isTsnetDriver, tsnetDriverNames } from './model';
import type { CreateNetworkBody } from './docker-types';

export interface DockerSnapshot {
  networks: DockerNetwork[];
  containers: DockerContainer[];
  engineVersion?: string;
  /** Containers inspected for this snapshot. */
  inspected: number;
}

/** A dockerode client for an endpoint; ssh:// goes through the user's ssh (DialStdioAgent). */
export function dockerFor(e: DockerEndpoint): Docker {
  const o = dockerodeOptions(e);
  if (o.protocol === 'ssh') {
    return new Docker({ protocol: 'http', host: 'docker', port: 80, agent: new DialStdioAgent(sshArgs({ host: o.host!, port: o.port, username: o.username })) } as Docker.DockerOptions);
  }
  return new Docker(o as Docker.DockerOptions);
}

export class DockerClient {
  docker: Docker;
  private containers = new ContainerCache();
  private engineVersion: string | undefined;
  /** Container inspects since start (the events-burst benchmark reads it). */
  inspectCount = 0;

  /** `endpoint`: what the views say they are connected to (undefined: dockerode's own defaults). */
  constructor(docker?: Docker, public endpoint?: DockerEndpoint) {
    this.docker = docker ?? (endpoint ? dockerFor(endpoint) : new Docker());
  }

  /** Talks to another engine from now on (the cache of the old one is dropped). */
  setEndpoint(endpoint: DockerEndpoint): void {
    this.endpoint = endpoint;
    this.docker = dockerFor(endpoint);
    this.containers = new ContainerCache();
    this.engineVersion = undefined;
  }

  /**
   * Every network and every container, inspected: only the containers `touched` names, new ones
   * and those whose list entry changed are inspected again (ContainerCache); `'all'` re-reads all.
   * Networks come from the list call only: it carries everything the model reads (attachments
   * come from the containers' side), and inspecting a network of a plugin that is down makes
   * dockerd retry the plugin for many seconds. The engine version is read on a full refresh only.
   */
  async snapshot(touched: Touched = 'all'): Promise<DockerSnapshot> {
    const [netList, ctrList, version] = await Promise.all([
      this.docker.listNetworks(),
      this.docker.listContainers({ all: true }),
      touched === 'all' || this.engineVersion === undefined ? this.docker.version().catch(() => undefined) : Promise.resolve(undefined),
    ]);
    if (version) this.engineVersion = version.Version;
    const gone = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;
    // A container removed between the list and its inspect is simply gone.
    const inspectOrGone = async (id: string): Promise<DockerContainer | undefined> => {
      try {
        return (await this.docker.getContainer(id).inspect()) as unknown as DockerContainer;
      } catch (e) {
        if (gone(e)) return undefined;
        throw e;
      }
    };
    const { containers, inspected } = await this.containers.update(ctrList as unknown as ContainerListEntry[], touched, inspectOrGone);
    this.inspectCount += inspected;
    return { networks: netList as unknown as DockerNetwork[], containers, engineVersion: this.engineVersion, inspected };
  }

  /** Network drivers the engine offers (`docker info` Plugins.Network plus enabled network plugins). */
  async networkDrivers(): Promise<{ drivers: string[]; tsnet?: string }> {
    const info = (await this.docker.info()) as { Plugins?: { Network?: string[] } };
    const drivers = new Set<string>((info.Plugins?.Network ?? []).filter((d) => d !== 'host' && d !== 'null'));
    try {
      const plugins = (await this.docker.listPlugins()) as { Name: string; Enabled: boolean; Config?: { Interface?: { Types?: { Capability?: string }[] | string[] } } }[];
      for (const p of plugins) {
        const types = (p.Config?.Interface?.Types ?? []).map((t) => (typeof t === 'string' ? t : t.Capability ?? ''));
        if (p.Enabled && types.some((t) => t.includes('networkdriver'))) drivers.add(p.Name);
      }
    } catch {
      // Engines without managed-plugin support answer 404 here; the legacy list above is enough.
    }
    // A legacy plugin is activated lazily, so `docker info` lists it only after first use: look for
    // the sockets of the configured names (tsnet.driverNames) when Docker runs on this host.
    if (!this.endpoint || isLocalEndpoint(this.endpoint)) {
      for (const name of tsnetDriverNames()) {
        if (drivers.has(name) || !/^[A-Za-z0-9_.-]+$/.test(name)) continue;
        const socket = name === 'tsnet' ? DEFAULT_PLUGIN_SOCKET : path.join(path.dirname(DEFAULT_PLUGIN_SOCKET), `${name}.sock`);
        if (fs.existsSync(socket)) drivers.add(name);
      }
    }
    // Prefer a configured name that is present (the order of the setting), then any tsnet:* plugin.
    const tsnet = tsnetDriverNames().find((n) => drivers.has(n)) ?? [...drivers].sort().find((d) => isTsnetDriver(d));
    return { drivers: [...drivers].sort(), tsnet };
  }

  async createNetwork(body: CreateNetworkBody): Promise<string> {
    const n = await this.docker.createNetwork(body as unknown as Docker.NetworkCreateOptions);
    return n.id;
  }

  async inspectNetwork(id: string): Promise<DockerNetwork> {
    return (await this.docker.getNetwork(id).inspect()) as DockerNetwork;
  }

  async inspectContainer(id: string): Promise<DockerContainer> {
    return (await this.docker.getContainer(id).inspect()) as unknown as DockerContainer;
  }

  async removeNetwork(id: string): Promise<void> {
    await this.docker.getNetwork(id).remove();
  }

  async pruneNetworks(): Promise<string[]> {
    const r = (await this.docker.pruneNetworks()) as { NetworksDeleted?: string[] | null };
    return r.NetworksDeleted ?? [];
  }

  async connect(networkId: string, containerId: string, opts: { ipv4?: string; ipv6?: string; aliases?: string[] } = {}): Promise<void> {
    const ipam = opts.ipv4 || opts.ipv6 ? { IPv4Address: opts.ipv4, IPv6Address: opts.ipv6 } : undefined;
    await this.docker.getNetwork(networkId).connect({
      Container: containerId,
      EndpointConfig: { IPAMConfig: ipam, Aliases: opts.aliases && opts.aliases.length > 0 ? opts.aliases : undefined },
    });
  }

  async disconnect(networkId: string, containerId: string, force = false): Promise<void> {
    await this.docker.getNetwork(networkId).disconnect({ Container: containerId, Force: force });
  }

  /**
   * Creates and starts a container that joins `ownerId`'s network namespace (like
   * `docker run --network container:<owner>`). A container that fails to start is removed, so
   * nothing half-made is left behind.
   */
  async runInNamespace(ownerId: string, image: string, cmd: string[], name?: string): Promise<string> {
    const c = await this.docker.createContainer({
      Image: image,
      Cmd: cmd.length > 0 ? cmd : undefined,
      name: name || undefined,
      Labels: { 'tsnet.created-by': 'vscode' },
      HostConfig: { NetworkMode: `container:${ownerId}` },
    });
    try {
      await c.start();
    } catch (e) {
      await c.remove({ force: true }).catch(() => undefined);
      throw e;
    }
    return c.id;
  }

  /** The engine's address as the user configured it (for URLs of published ports). */
  get dockerHost(): string | undefined {
    return this.endpoint?.host ?? process.env.DOCKER_HOST;
  }
}
