/**
 * Networks removed from Docker while tsnet was down: dockerd drops them without the driver (it
 * cannot reach it), which would leave their bridges and rules behind for good. Likewise
 * endpoints whose creation Docker never heard succeed (the driver was killed mid-answer). Once, shortly
 * after start and outside any request handler, tsnet asks Docker which networks exist and
 * removes its own networks Docker no longer has. Only networks tsnet already knew at start are
 * considered (one being created right now may not be listed yet). When Docker's API cannot be
 * reached (a managed plugin has no Docker socket), nothing happens.
 */
import type { Driver, Logger } from './driver';

export interface DockerNetworkLister {
  /** IDs of every network Docker has; undefined when Docker cannot be asked. */
  networkIds(): Promise<string[] | undefined>;
  /** IDs of the endpoints Docker has on a network; undefined when Docker cannot be asked. */
  endpointIds(networkId: string): Promise<string[] | undefined>;
}

export async function removeNetworksDockerForgot(driver: Driver, docker: DockerNetworkLister, knownAtStart: string[], endpointsAtStart: Record<string, string[]>, log: Logger): Promise<string[]> {
  let ids: string[] | undefined;
  try {
    ids = await docker.networkIds();
  } catch (e) {
    log.debug({ err: String(e) }, 'Docker API not reachable; skipping the check for networks removed while tsnet was down');
    return [];
  }
  if (!ids || ids.length === 0) return [];
  const removed: string[] = [];
  for (const id of knownAtStart) {
    const rec = driver.repository.network(id);
    if (!rec) continue;
    if (ids.some((d) => d === id || (rec.recovered === true && d.startsWith(id)))) continue;
    try {
      await driver.deleteNetwork(id);
      removed.push(id);
      log.warn({ network: id, bridge: rec.config.bridge }, 'network was removed from Docker while tsnet was down: removed its bridge and rules');
    } catch (e) {
      log.error({ network: id, err: String(e) }, 'could not remove a network Docker no longer has');
    }
  }
  // Endpoints whose CreateEndpoint answer was lost in a crash: Docker never stored them and will
  // never delete them. Only endpoints known at start count; newer ones may not be listed yet.
  for (const [netId, epIds] of Object.entries(endpointsAtStart)) {
    const rec = driver.repository.network(netId);
    if (!rec || !ids.includes(netId)) continue;
    let known: string[] | undefined;
    try {
      known = await docker.endpointIds(netId);
    } catch {
      known = undefined;
    }
    if (!known) continue;
    for (const epId of epIds) {
      const ep = driver.repository.endpoint(rec, epId);
      if (!ep || ep.recovered || known.includes(epId)) continue;
      try {
        await driver.deleteEndpoint({ NetworkID: netId, EndpointID: epId });
        removed.push(epId);
        log.warn({ network: netId, endpoint: epId }, 'endpoint Docker never recorded (its creation was cut short by a crash): removed it');
      } catch (e) {
        log.error({ endpoint: epId, err: String(e) }, 'could not remove an endpoint Docker does not have');
      }
    }
  }
  return removed;
}
