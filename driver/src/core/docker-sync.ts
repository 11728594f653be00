/**
 * Networks removed from Docker while tsnet was down: dockerd drops them without the driver (it
 * cannot reach it), which would leave their bridges and rules behind for good. Once, shortly
 * after start and outside any request handler, tsnet asks Docker which networks exist and
 * removes its own networks Docker no longer has. Only networks tsnet already knew at start are
 * considered (one being created right now may not be listed yet). When Docker's API cannot be
 * reached (a managed plugin has no Docker socket), nothing happens.
 */
import type { Driver, Logger } from './driver';

export interface DockerNetworkLister {
  /** IDs of every network Docker has; undefined when Docker cannot be asked. */
  networkIds(): Promise<string[] | undefined>;
}

export async function removeNetworksDockerForgot(driver: Driver, docker: DockerNetworkLister, knownAtStart: string[], log: Logger): Promise<string[]> {
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
    const rec = driver.state.networks[id];
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
  return removed;
}
