/**
 * Holds the current NetworkGraph: rebuilds it from Docker (+ the tsnet driver's status when it
 * answers) on start, on each burst of relevant `docker events` (re-reading only the containers
 * the burst touched), after each user action, and on a slow safety poll. Views subscribe to
 * onDidChange. While a multi-host network is shown, the driver's cluster view is read every few
 * seconds too: remote hosts come and go with no Docker event on this host.
 */
import * as vscode from 'vscode';
import { DockerClient } from './docker/client';
import { DockerEventWatcher } from './docker/events';
import type { Touched } from './docker/container-cache';
import type { DockerEndpoint } from './docker/endpoint';
import { buildGraph } from './docker/model';
import type { NetworkGraph } from './docker/model-types';
import { fetchTsnetStatus } from './docker/tsnet-status';
import { clusterSignature } from './docker/cluster-model';
import { dockerErrorMessage } from './docker/errors';

const SAFETY_POLL_MS = 60_000;
/** How often the cluster view (remote hosts, blocks, routes) is compared while a multi-host network exists. */
export const CLUSTER_POLL_MS = 3_000;
const DOCKER_TIMEOUT_MS = 20_000;
const DRIVERS_TIMEOUT_MS = 5_000;

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class GraphStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<NetworkGraph>();
  private readonly stateChanged = new vscode.EventEmitter<void>();
  readonly onDidChange: vscode.Event<NetworkGraph> = this.changed.event;
  /** Fires when the graph or the connection state (error, tsnet reachability) changes. */
  readonly onDidChangeState: vscode.Event<void> = this.stateChanged.event;
  graph: NetworkGraph | undefined;
  /** Why Docker could not be read, when it could not. */
  error: string | undefined;
  /** Why the tsnet status API did not answer, when it did not. */
  tsnetUnreachable: string | undefined;
  private running: Promise<void> | undefined;
  private touched: Set<string> | 'all' = new Set();
  private drivers: { drivers: string[]; tsnet?: string } | undefined;
  private driversAt = 0;
  private again = false;
  private watcher: DockerEventWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private clusterPoll: NodeJS.Timeout | undefined;
  /** clusterSignature of the status the graph was built from. */
  private clusterSeen = '';

  /** Why the endpoint could not be resolved (a missing context...), when it could not. */
  private endpointError: string | undefined;

  /**
   * `statusSocket` is read before every rebuild (the setting may change while running);
   * `endpoint` resolves the Docker endpoint (throws with a message the views show).
   */
  constructor(
    readonly client: DockerClient,
    private readonly log: vscode.OutputChannel,
    private readonly statusSocket: () => string | undefined = () => undefined,
    private readonly endpoint?: () => DockerEndpoint,
  ) {}

  start(): void {
    this.connect();
    this.poll = setInterval(() => void this.refresh(), SAFETY_POLL_MS);
    this.clusterPoll = setInterval(() => void this.checkCluster(), CLUSTER_POLL_MS);
    void this.refresh('all');
  }

  /** Rebuilds when the driver's cluster view changed (only while a multi-host network is in the graph). */
  private async checkCluster(): Promise<void> {
    if (this.running || !this.graph?.networks.some((n) => n.cluster)) return;
    const status = await fetchTsnetStatus(this.statusSocket());
    if (!status.reachable || clusterSignature(status.report.cluster) === this.clusterSeen) return;
    this.log.appendLine('tsnet: the cluster changed (remote hosts, blocks or routes)');
    await this.refresh();
  }

  /** Resolves the endpoint again (setting, DOCKER_HOST, docker context), reconnects and re-reads everything. */
  reconnect(): Promise<void> {
    this.connect();
    return this.refresh('all');
  }

  private connect(): void {
    this.watcher?.dispose();
    this.watcher = undefined;
    if (this.endpoint) {
      try {
        const e = this.endpoint();
        this.endpointError = undefined;
        if (this.client.endpoint?.host !== e.host || this.client.endpoint?.label !== e.label) this.client.setEndpoint(e);
        this.log.appendLine(`tsnet: Docker endpoint ${e.host} (${e.source}${e.context ? ` ${e.context}` : ''})`);
      } catch (err) {
        this.endpointError = (err as Error).message;
        this.log.appendLine(`tsnet: no Docker endpoint: ${this.endpointError}`);
        return;
      }
    }
    this.watcher = new DockerEventWatcher(this.client.docker, {
      onChange: (why, touched) => {
        this.log.appendLine(`docker events: ${why}`);
        void this.refresh(touched);
      },
      onState: (connected, err) => this.log.appendLine(connected ? 'docker events: connected' : `docker events: lost (${err}); reconnecting`),
    });
    this.watcher.start();
  }

  /**
   * Rebuilds the graph, re-reading the containers `touched` names plus any whose list entry
   * changed (the default: after a user action, on the safety poll), or every one ('all').
   * Concurrent calls coalesce into at most one more run.
   */
  refresh(touched: Touched = new Set()): Promise<void> {
    this.mergeTouched(touched);
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const t = this.touched;
        this.touched = new Set();
        await this.rebuild(t);
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private mergeTouched(t: Touched): void {
    if (this.touched === 'all') return;
    if (t === 'all') this.touched = 'all';
    else for (const id of t) this.touched.add(id);
  }

  private async rebuild(touched: Touched): Promise<void> {
    try {
      if (this.endpointError) throw new Error(this.endpointError);
      const started = Date.now();
      // The engine's driver list changes with plugins, not with containers: read on full
      // refreshes and at most once per safety-poll period otherwise.
      const readDrivers = touched === 'all' || !this.drivers || Date.now() - this.driversAt > SAFETY_POLL_MS;
      const [snap, status, drivers] = await Promise.all([
        within(DOCKER_TIMEOUT_MS, 'Docker', this.client.snapshot(touched)),
        fetchTsnetStatus(this.statusSocket()),
        readDrivers
          ? within(DRIVERS_TIMEOUT_MS, 'docker info', this.client.networkDrivers()).catch(() => ({ drivers: [] as string[], tsnet: undefined }))
          : Promise.resolve(this.drivers!),
      ]);
      if (readDrivers) this.driversAt = Date.now();
      this.drivers = drivers;
      const took = Date.now() - started;
      if (took > 2000) this.log.appendLine(`reading Docker took ${took} ms`);
      this.tsnetUnreachable = status.reachable ? undefined : status.reason;
      this.clusterSeen = status.reachable ? clusterSignature(status.report.cluster) : '';
      this.graph = buildGraph(snap.networks, snap.containers, status.reachable ? status.report : undefined, {
        engineVersion: snap.engineVersion,
        tsnetDriverName: drivers.tsnet,
      });
      this.error = undefined;
      this.changed.fire(this.graph);
    } catch (e) {
      const msg = dockerErrorMessage(e);
      if (this.error !== msg) this.log.appendLine(`Docker is not reachable: ${msg}`);
      this.error = msg;
    }
    this.stateChanged.fire();
  }

  dispose(): void {
    this.watcher?.dispose();
    clearInterval(this.poll);
    clearInterval(this.clusterPoll);
    this.changed.dispose();
    this.stateChanged.dispose();
  }
}
