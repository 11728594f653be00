#!/usr/bin/env node
/**
 * Starts the tsnet driver: loads the store, reconciles it with the kernel, then serves the
 * libnetwork remote API on the plugin socket and the read-only status API on its own socket.
 *   node driver/dist/main.js [--socket PATH] [--state-dir DIR] [--status-socket PATH] [--log-level LEVEL]
 * Each flag also reads an environment variable (TSNET_SOCKET, TSNET_STATE_DIR,
 * TSNET_STATUS_SOCKET, TSNET_LOG_LEVEL), which is how the managed plugin sets them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DEFAULT_PLUGIN_SOCKET, DEFAULT_STATE_DIR, DEFAULT_STATUS_SOCKET, type StatusReport } from '@tsnet/shared';
import { createApp } from './api/app';
import { Driver } from './core/driver';
import { LinkReaper } from './core/link-reaper';
import { Metrics } from './core/metrics';
import { reconcile } from './core/reconcile';
import { removeNetworksDockerForgot } from './core/docker-sync';
import { DockerClient, listNetworks } from './docker/client';
import { createFirewall } from './firewall';
import { openNetlink } from './netlink';
import { listBoundSockets } from './netlink/sockdiag';
import { NETLINK_SOCK_DIAG, NetlinkSocket } from './netlink/socket';
import type { NetlinkHandle } from './netlink/types';
import { writeInterfaceSysctl, writeSysctl } from './host/sysctl';
import { Store } from './state/store';
import { createStatusApp, listenStatus, statusAccess } from './status/server';
import { VERSION } from './version';
import { activatedSocketFd } from './host/socket-activation';
import { parseClusterConfig } from './cluster/config';
import { Cluster, detectUnderlay } from './cluster/cluster';

const USAGE = `usage: node driver/dist/main.js [options]
  --socket PATH         plugin socket dockerd connects to (default ${DEFAULT_PLUGIN_SOCKET}; env TSNET_SOCKET)
  --state-dir DIR       where networks and endpoints are persisted (default ${DEFAULT_STATE_DIR}; env TSNET_STATE_DIR)
  --status-socket PATH  read-only status API socket (default ${DEFAULT_STATUS_SOCKET}; env TSNET_STATUS_SOCKET)
  --log-level LEVEL     fatal, error, warn, info, debug or trace (default info; env TSNET_LOG_LEVEL)
  --etcd URL[,URL...]   etcd of a multi-host cluster (env TSNET_ETCD); without it every network is local
  --host-address IP     this host's underlay address (env TSNET_HOST_ADDRESS; default: the default route's link)
  --etcd-ca FILE, --etcd-cert FILE, --etcd-key FILE
                        TLS for https:// etcd URLs (env TSNET_ETCD_CA, TSNET_ETCD_CERT, TSNET_ETCD_KEY)
  --help                print this text`;

function options() {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      'status-socket': { type: 'string' },
      'log-level': { type: 'string' },
      etcd: { type: 'string' },
      'host-address': { type: 'string' },
      'etcd-ca': { type: 'string' },
      'etcd-cert': { type: 'string' },
      'etcd-key': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const level = values['log-level'] ?? process.env.TSNET_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new Error(`--log-level: "${level}" is not a level; use fatal, error, warn, info, debug or trace`);
  }
  return {
    help: values.help ?? false,
    socket: values.socket ?? process.env.TSNET_SOCKET ?? DEFAULT_PLUGIN_SOCKET,
    stateDir: values['state-dir'] ?? process.env.TSNET_STATE_DIR ?? DEFAULT_STATE_DIR,
    statusSocket: values['status-socket'] ?? process.env.TSNET_STATUS_SOCKET ?? DEFAULT_STATUS_SOCKET,
    level,
    cluster: parseClusterConfig({ etcd: values.etcd, hostAddress: values['host-address'], etcdCa: values['etcd-ca'], etcdCert: values['etcd-cert'], etcdKey: values['etcd-key'] }),
  };
}

/**
 * How long the plugin socket keeps an idle keep-alive connection. Node closes one after 5 s by
 * default, and a client that sends its next request on it just then gets EPIPE or EOF instead of
 * an answer (seen on CI under load); dockerd's plugin client keeps its connections for reuse, so
 * the server closes them only after a long idle time.
 */
const PLUGIN_KEEPALIVE_TIMEOUT_MS = 10 * 60_000;

function listenPlugin(app: ReturnType<typeof createApp>, socketPath: string): Promise<Server> {
  return listenPluginSocket(app, socketPath).then((s) => {
    s.keepAliveTimeout = PLUGIN_KEEPALIVE_TIMEOUT_MS;
    return s;
  });
}

function listenPluginSocket(app: ReturnType<typeof createApp>, socketPath: string): Promise<Server> {
  const fd = activatedSocketFd();
  if (fd !== undefined) {
    for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete process.env[k];
    return new Promise((resolve, reject) => {
      const s = app.listen({ fd }, () => resolve(s));
      s.once('error', reject);
    });
  }
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  fs.rmSync(socketPath, { force: true });
  return new Promise((resolve, reject) => {
    const old = process.umask(0o177); // the socket is born 0600: root only, no window
    const s = app.listen(socketPath, () => {
      process.umask(old);
      fs.chmodSync(socketPath, 0o600);
      resolve(s);
    });
    s.once('error', (e) => {
      process.umask(old);
      reject(e);
    });
  });
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (e) {
    process.stderr.write(`tsnet: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = pino({ name: 'tsnet', level: opts.level }, pino.destination(2));
  if (process.getuid?.() !== 0) log.warn('not running as root: creating bridges and firewall rules needs CAP_NET_ADMIN');

  const store = new Store(opts.stateDir);
  const loaded = store.load();
  const warnings: string[] = [];
  for (const c of loaded.corrected) log.warn(c);
  if (loaded.problems.length > 0) {
    warnings.push(...loaded.problems);
    if (loaded.quarantined.length > 0) warnings.push(`damaged files were kept as ${loaded.quarantined.join(', ')}; what they held is rebuilt from the kernel`);
    for (const p of warnings) log.error(p);
  }

  const netlink = await openNetlink();
  // Its own worker (a dump would hold up link changes), started on first use: most hosts
  // never publish a UDP port, and each worker thread costs about 10 MB.
  let conntrackHandle: Promise<NetlinkHandle> | undefined;
  const conntrack = {
    deleteConntrackFor: async (ip: string) => (await (conntrackHandle ??= openNetlink())).deleteConntrackFor(ip),
    close: async () => (conntrackHandle ? (await conntrackHandle).close() : undefined),
  };
  const firewall = await createFirewall({ cluster: opts.cluster !== undefined });
  // Test hook only (both variables, never set in production): holds each veth deletion back so a
  // test can kill the driver between DeleteEndpoint's reply and the deletion.
  const deleteDelayMs = process.env.TSNET_TEST_HOOKS === '1' ? Number(process.env.TSNET_TEST_VETH_DELETE_DELAY_MS ?? 0) || 0 : 0;
  // Veth deletions wait for RCU grace periods inside the kernel call: a worker of their own (opened
  // at the first deletion), so nothing else queues behind them.
  let reaperHandle: Promise<NetlinkHandle> | undefined;
  const reaperNetlink = {
    deleteLinks: async (names: string[]) => (await (reaperHandle ??= openNetlink())).deleteLinks(names),
    close: async () => (reaperHandle ? (await reaperHandle).close() : undefined),
  };
  let cluster: Cluster | undefined;
  if (opts.cluster) {
    cluster = new Cluster(opts.cluster, await detectUnderlay(netlink, opts.cluster.hostAddress), opts.stateDir, log);
    await cluster.start();
  }
  let sockDiag: NetlinkSocket | undefined;
  const deps = {
    reaper: new LinkReaper(reaperNetlink, deleteDelayMs),
    netlink,
    conntrack,
    firewall,
    store,
    log,
    params: { set: writeSysctl, setInterface: writeInterfaceSysctl },
    // On this thread: four short sock_diag dumps cost less than waking the netlink worker and
    // waiting for its answer (0.25 against 0.55 ms per ProgramExternalConnectivity, measured).
    boundSockets: async (protos: ReadonlyArray<'tcp' | 'udp'>) =>
      listBoundSockets((sockDiag ??= new NetlinkSocket(NETLINK_SOCK_DIAG)), protos).map((s) => ({ proto: s.proto.startsWith('tcp') ? ('tcp' as const) : ('udp' as const), family: s.proto.endsWith('6') ? (6 as const) : (4 as const), address: s.localAddress, port: s.localPort })),
    state: loaded.state,
    ...(cluster ? { cluster } : {}),
  };
  const driver = new Driver(deps);
  const rec = await reconcile(driver, deps, loaded.quarantined.length > 0, loaded.orphanEndpoints);
  warnings.push(...rec.warnings);
  // Adds the fast path's missing chains and removes stale ones, now that the records are settled.
  // Not awaited: its link lookups queue behind the cluster worker's first converge (3,000 netlink
  // requests at 1,000 hosts), and nothing needs it before the sockets open (traffic without it
  // takes the routed path).
  void cluster?.attachNetworks(() => driver.repository.networks());

  const metrics = new Metrics();
  const startedAt = new Date();
  const report = async (): Promise<StatusReport> => ({
    version: VERSION,
    pid: process.pid,
    startedAt: startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    pluginSocket: opts.socket,
    stateDir: opts.stateDir,
    firewallBackend: firewall.backend,
    networks: await driver.describe(),
    calls: metrics.snapshot(),
    warnings,
    ...(cluster ? { cluster: cluster.status() } : {}),
  });

  const activated = activatedSocketFd() !== undefined;
  const plugin = await listenPlugin(createApp(driver, metrics, log, cluster ? { ipam: cluster.ipam } : {}), opts.socket);
  let status: Server | undefined;
  try {
    const access = statusAccess(process.env.TSNET_STATUS_GID, process.env.TSNET_PLUGIN === '1');
    if (access.warning) {
      log.warn(access.warning);
      warnings.push(access.warning);
    }
    status = await listenStatus(createStatusApp(report), opts.statusSocket, access);
  } catch (e) {
    log.error({ err: String(e), socket: opts.statusSocket }, 'status API not available');
  }
  log.info({ socket: opts.socket, socketActivated: activated, status: opts.statusSocket, stateDir: opts.stateDir, networks: driver.repository.networkIds().length, version: VERSION }, 'tsnet driver ready');

  const knownAtStart = driver.repository.networkIds();
  const endpointsAtStart = Object.fromEntries(driver.repository.networks().map((n) => [n.config.id, Object.keys(n.endpoints)]));
  if (knownAtStart.length > 0) {
    const docker = new DockerClient();
    const lister = {
      networkIds: async () => (await listNetworks(docker))?.map((n) => n.Id),
      endpointIds: async (id: string) => {
        const n = await docker.inspectNetwork(id);
        return n ? Object.values(n.Containers ?? {}).map((c) => c.EndpointID) : undefined;
      },
    };
    setTimeout(() => {
      void removeNetworksDockerForgot(driver, lister, knownAtStart, endpointsAtStart, log);
    }, 1000).unref();
  }

  const stop = (signal: string) => {
    log.info({ signal }, 'stopping; kernel objects stay in place for running containers');
    plugin.close();
    status?.close();
    if (!activated) fs.rmSync(opts.socket, { force: true }); // an activated socket is systemd's
    setTimeout(() => process.exit(0), 2000).unref();
    // Veths already retired are deleted first (a batch takes tens of ms), so none is left behind.
    void driver.background
      .drain()
      .then(() => Promise.all([netlink.close(), conntrack.close(), reaperNetlink.close(), cluster?.stop(), sockDiag?.close()]))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`tsnet: cannot start: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
