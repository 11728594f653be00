/**
 * Figure 5: 1000 endpoints on one network, driven over the remote API as dockerd would (no
 * containers), on a driver instance of its own. Per-endpoint set-up time (CreateEndpoint + Join)
 * around the 10th against around the last, and the driver's RSS at full size.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { vethHostName } from '@tsnet/shared';
import { cidrsOverlap, hostRoutes } from '../docker';
import { DriverProcess, RemoteApi } from '../driver';
import { log, median, nowMs, run, withCleanup } from '../util';

export interface ScaleResult {
  endpoints: number;
  subnet: string;
  /** Client-side CreateEndpoint + Join time of every endpoint, ms, in order. */
  setupMs: number[];
  /** Median of endpoints 1..20 (around the 10th) and of the last 20 (around the last). */
  early: number;
  late: number;
  rssStartMB: number;
  rssFullMB: number;
  /** Size of the driver's state directory at full size, KB (the store is rewritten on every call). */
  storeKB: number;
  /** Driver CPU time (user + system, all threads) per endpoint set-up, ms, per tenth of the run. */
  cpuMsPerEndpoint: number[];
  createAllMs: number;
  teardownAllMs: number;
  driverCalls: Record<string, { count: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  error?: string;
}

const SCALE_NETNS = 'tst-bench-scale';

function hex64(): string {
  return randomBytes(32).toString('hex');
}

function addressAt(subnet: string, offset: number): string {
  const [base, len] = subnet.split('/');
  const n = base.split('.').reduce((a, o) => a * 256 + Number(o), 0) + offset;
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/${len}`;
}

const noPorts = { 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] };

export async function scale(driver: DriverProcess, count: number, candidates: string[]): Promise<ScaleResult> {
  const api = new RemoteApi(driver.socket);
  // Networks an interrupted earlier run left in this instance's store are the bench's own.
  for (const n of (await driver.status()).networks) await api.call('DeleteNetwork', { NetworkID: n.id }).catch(() => undefined);
  const routes = await hostRoutes();
  const subnet = candidates.find((c) => !routes.some((r) => cidrsOverlap(r, c)));
  if (!subnet) throw new Error(`every scale subnet candidate overlaps a host route: ${candidates.join(', ')}`);
  const networkId = hex64();
  const endpoints: string[] = [];
  const setupMs: number[] = [];
  const result: ScaleResult = { endpoints: 0, subnet, setupMs, early: NaN, late: NaN, rssStartMB: driver.rssMB(), rssFullMB: NaN, storeKB: NaN, cpuMsPerEndpoint: [], createAllMs: NaN, teardownAllMs: NaN, driverCalls: {} };

  await run('ip', ['netns', 'add', SCALE_NETNS], { allowFail: true });
  const sandbox = `/var/run/netns/${SCALE_NETNS}`;
  let networkUp = false;
  const teardown = async () => {
    if (networkUp) {
      // DeleteNetwork removes whatever endpoints are left as well.
      await api.call('DeleteNetwork', { NetworkID: networkId }).catch(async (e) => {
        log(`scale: DeleteNetwork failed (${(e as Error).message}); deleting its veths directly`);
        for (const id of endpoints) await run('ip', ['link', 'del', vethHostName(id)], { allowFail: true });
      });
      networkUp = false;
    }
    await run('ip', ['netns', 'del', SCALE_NETNS], { allowFail: true });
  };
  return withCleanup('scale network', teardown, async () => {
    try {
      await api.call('CreateNetwork', {
        NetworkID: networkId,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: subnet, Gateway: addressAt(subnet, 1) }],
        IPv6Data: [],
      });
      networkUp = true;
      const t0 = nowMs();
      const tenth = Math.max(1, Math.floor(count / 10));
      let cpuAt = cpuMs(driver.pid);
      for (let i = 0; i < count; i++) {
        const id = hex64();
        const started = nowMs();
        await api.call('CreateEndpoint', { NetworkID: networkId, EndpointID: id, Interface: { Address: addressAt(subnet, 2 + i), AddressIPv6: '', MacAddress: '' }, Options: noPorts });
        endpoints.push(id);
        await api.call('Join', { NetworkID: networkId, EndpointID: id, SandboxKey: sandbox, Options: noPorts });
        setupMs.push(nowMs() - started);
        if ((i + 1) % tenth === 0) {
          const now = cpuMs(driver.pid);
          result.cpuMsPerEndpoint.push((now - cpuAt) / tenth);
          cpuAt = now;
        }
        if ((i + 1) % 250 === 0) log(`scale: ${i + 1} endpoints, last set-up ${setupMs[i].toFixed(2)} ms, RSS ${driver.rssMB().toFixed(1)} MB`);
      }
      result.createAllMs = nowMs() - t0;
      result.endpoints = endpoints.length;
      result.rssFullMB = driver.rssMB();
      result.storeKB = dirKB(driver.opts.stateDir);
      result.early = median(setupMs.slice(0, 20));
      result.late = median(setupMs.slice(-20));
      const t1 = nowMs();
      while (endpoints.length > 0) {
        const id = endpoints[endpoints.length - 1];
        await api.call('Leave', { NetworkID: networkId, EndpointID: id });
        await api.call('DeleteEndpoint', { NetworkID: networkId, EndpointID: id });
        endpoints.pop();
      }
      result.teardownAllMs = nowMs() - t1;
      await api.call('DeleteNetwork', { NetworkID: networkId });
      networkUp = false;
      const calls = (await driver.status()).calls;
      for (const m of ['CreateEndpoint', 'Join', 'Leave', 'DeleteEndpoint']) {
        if (calls[m]) result.driverCalls[m] = { count: calls[m].count, p50Ms: calls[m].p50Ms, p99Ms: calls[m].p99Ms, maxMs: calls[m].maxMs };
      }
    } catch (e) {
      result.error = (e as Error).message;
      log(`scale: ${result.error}`);
    } finally {
      api.close();
    }
    return result;
  });
}

function dirKB(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(dir)) total += fs.statSync(`${dir}/${f}`).size;
  return total / 1024;
}

/** utime + stime of a process (all its threads), ms. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // fields 14 and 15 of stat(5); USER_HZ is 100 on Linux
}
