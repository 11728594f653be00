/**
 * At start, make the kernel agree with the store: re-create what live networks and endpoints
 * need (bridges, gateway addresses, firewall rules, port maps), and remove tsnet objects no
 * record owns (left by a crash, or by a container that vanished while the driver was down).
 * Only objects recorded in the store are touched: those of its networks and endpoints, and the
 * links in its journal of creations (written before each creation), so a crash
 * leftover is found while another tsnet instance's objects are never mistaken for one.
 *
 * When the store was lost, networks are rebuilt from the kernel as far as it tells: each tsn-*
 * bridge with its gateway addresses becomes a "recovered" network known by its ID prefix, which
 * dockerd's next request on it completes.
 */
import { BRIDGE_PREFIX, cidrToString, isTsnetLinkName, parseCidr, parseNetworkRequest, VETH_HOST_PREFIX, vethContainerName, type NetworkConfig } from '@tsnet/shared';
import type { LinkInfo } from '../netlink/types';
import { records, type EndpointRecord } from '../state/types';
import { toRule, type Driver, type DriverDeps } from './driver';
import { DEFAULT_MTU } from './bridge';
import { bridgeSteps, build, vethSteps } from './provision';

export interface ReconcileReport {
  recreated: string[];
  removed: string[];
  warnings: string[];
}

export async function reconcile(driver: Driver, deps: DriverDeps, storeLost: boolean, orphanEndpoints: EndpointRecord[] = []): Promise<ReconcileReport> {
  const report: ReconcileReport = { recreated: [], removed: [], warnings: [] };
  const { netlink, firewall, log } = deps;
  await firewall.init();
  let links = await netlink.listLinks();
  const byName = new Map(links.map((l) => [l.name, l]));
  if (storeLost) await recoverFromKernel(driver, deps, links, report, orphanEndpoints);

  for (const net of driver.repository.networks()) {
    const c = net.config;
    try {
      const existing = byName.get(c.bridge);
      if (!existing && net.bridgeAdopted) {
        report.warnings.push(`network ${c.id.slice(0, 12)}: the adopted bridge ${c.bridge} is gone; re-creating it`);
      }
      // The bridge is built exactly as CreateNetwork builds it (provision.ts); one that is there
      // gets what it lacks (bridges of earlier versions, or adopted ones, may still follow their
      // ports' MAC and MTU).
      const added: string[] = [];
      await build(bridgeSteps(deps, { config: c, adopted: net.bridgeAdopted, existing, added }));
      if (!existing) report.recreated.push(`bridge ${c.bridge}`);
      else report.recreated.push(...added.map((gw) => `address ${gw} on ${c.bridge}`));
    } catch (e) {
      report.warnings.push(`network ${c.id.slice(0, 12)}: could not restore bridge ${c.bridge}: ${(e as Error).message}`);
      continue;
    }

    for (const ep of Object.values(net.endpoints)) {
      // A missing SandboxKey does not mean the container is gone: Docker joins an endpoint before
      // the container's namespace is bound there (runc's prestart hook does that). Containers
      // that vanished while tsnet was down are found by asking Docker (docker-sync.ts).
      if (!byName.has(ep.hostVeth) && !ep.joined) {
        await build(vethSteps(deps, { config: c, hostVeth: ep.hostVeth, containerVeth: ep.containerVeth, mac: ep.mac }))
          .then(() => report.recreated.push(`veth ${ep.hostVeth}`))
          .catch((e) => report.warnings.push(`endpoint ${ep.id.slice(0, 12)}: could not re-create veth ${ep.hostVeth}: ${(e as Error).message}`));
      } else if (!byName.has(ep.hostVeth)) {
        report.warnings.push(`endpoint ${ep.id.slice(0, 12)}: its veth ${ep.hostVeth} is gone although the container's namespace exists; reconnect the container (docker network disconnect/connect)`);
      }
    }
  }

  // Port maps: the kernel gets exactly the recorded ones.
  const wanted = driver.repository.networks().flatMap((n) => Object.values(n.endpoints).flatMap((e) => e.ports.map((p) => toRule(n, p))));
  const key = (r: { proto: string; family: number; hostIP: string; hostPort: number; containerIP: string; containerPort: number }) =>
    `${r.proto}|${r.family}|${r.hostIP}|${r.hostPort}|${r.containerIP}|${r.containerPort}`;
  const pending = new Set(driver.repository.pendingLinks());
  const ourBridges = new Set([...driver.repository.networks().map((n) => n.config.bridge), ...pending]);
  const programmed = (await firewall.listPortMaps()).filter((p) => ourBridges.has(p.bridge));
  const wantedKeys = new Set(wanted.map(key));
  const programmedKeys = new Set(programmed.map(key));
  const stale = programmed.filter((p) => !wantedKeys.has(key(p)));
  if (stale.length > 0) {
    await firewall.removePortMaps(stale);
    report.removed.push(...stale.map((p) => `port map ${p.hostIP}:${p.hostPort}/${p.proto} -> ${p.containerIP}:${p.containerPort}`));
    for (const p of stale) await deps.conntrack.deleteConntrackFor(p.containerIP).catch(() => 0);
  }
  const missing = wanted.filter((w) => !programmedKeys.has(key(w)));
  if (missing.length > 0) {
    await firewall.addPortMaps(missing);
    report.recreated.push(...missing.map((p) => `port map ${p.hostIP}:${p.hostPort}/${p.proto}`));
  }

  // Orphans: tsnet-named links and firewall networks no record owns.
  links = await netlink.listLinks();
  const ownedLinks = new Set<string>();
  const ownedBridges = new Set<string>();
  for (const n of driver.repository.networks()) {
    ownedLinks.add(n.config.bridge);
    ownedBridges.add(n.config.bridge);
    for (const e of Object.values(n.endpoints)) {
      ownedLinks.add(e.hostVeth);
      ownedLinks.add(e.containerVeth);
    }
  }
  // Bridges this driver created: a host-side veth on one is born there (attached in the same
  // RTM_NEWLINK that makes it), so one that no record owns is a creation a crash cut short.
  const createdBridges = new Set(
    driver.repository.networks()
      .filter((n) => !n.bridgeAdopted)
      .map((n) => links.find((l) => l.name === n.config.bridge)?.index)
      .filter((i): i is number => i !== undefined),
  );
  for (const l of links) {
    const named = isTsnetLinkName(l.name);
    // Only this driver's own leftovers: journalled before creation (or removal), ports of its own
    // bridges, or (store lost) host-side veths on no bridge (every bridge was adopted by the
    // recovery, with the veths on it).
    const strayVeth = l.name.startsWith(VETH_HOST_PREFIX) && l.masterIndex === undefined;
    const onOwnBridge = l.name.startsWith(VETH_HOST_PREFIX) && l.masterIndex !== undefined && createdBridges.has(l.masterIndex);
    const ours = named && (pending.has(l.name) || onOwnBridge || (storeLost && strayVeth));
    if (!ours || ownedLinks.has(l.name)) continue;
    try {
      await driver.deleteLinkIfPresent(l.name);
      report.removed.push(`${l.kind ?? 'link'} ${l.name}`);
    } catch (e) {
      report.warnings.push(`could not remove orphan ${l.name}: ${(e as Error).message}`);
    }
  }
  for (const bridge of await firewall.listProgrammedBridges()) {
    const gone = !links.some((l) => l.name === bridge);
    if (ownedBridges.has(bridge) || !(pending.has(bridge) || (storeLost && gone))) continue;
    await firewall.removeNetwork({ id: bridge, bridge, subnets: [], icc: true, masquerade: false, internal: false });
    report.removed.push(`firewall rules of ${bridge}`);
  }

  driver.repository.clearPendingAndDeleting();
  await driver.repository.markAllDirty().save();
  await deps.store.clearJournal();
  log.info({ recreated: report.recreated, removed: report.removed, warnings: report.warnings.length }, 'reconciled store and kernel');
  for (const w of report.warnings) log.warn(w);
  return report;
}

/** What follows `tsn-` in a bridge name tsnet derived from a network ID. */
const RECOVERABLE_ID = /^[0-9a-f]{11}$/;

/**
 * Rebuilds what damaged files held, from the kernel: each tsn-* bridge no record owns becomes a
 * network known by its ID prefix (options the parser's defaults), and each tsv* veth on a bridge that
 * no endpoint owns becomes an endpoint, taking its record back when that record survived in its
 * own file (its network's file was the damaged one).
 */
async function recoverFromKernel(driver: Driver, deps: DriverDeps, links: LinkInfo[], report: ReconcileReport, orphans: EndpointRecord[]): Promise<void> {
  const addrs = await deps.netlink.listAddresses();
  const owned = new Set(driver.repository.networks().map((n) => n.config.bridge));
  for (const br of links.filter((l) => l.kind === 'bridge' && l.name.startsWith(BRIDGE_PREFIX) && !owned.has(l.name))) {
    const idPrefix = br.name.slice(BRIDGE_PREFIX.length);
    // Only names tsnet derives from a network ID (tsn- + 11 hex) can be completed by dockerd
    // later; anything else (tsn-lab+1) is someone's own bridge and must not stop the start.
    if (!RECOVERABLE_ID.test(idPrefix)) {
      report.warnings.push(`bridge ${br.name} was not recovered as a tsnet network: "${idPrefix}" is not the start of a network ID (11 hex digits); left as it is`);
      continue;
    }
    const gateways = addrs
      .filter((a) => a.ifindex === br.index)
      .map((a) => parseCidr(a.cidr))
      .filter((c): c is NonNullable<typeof c> => !!c && !(c.family === 6 && c.address.startsWith('fe80:')));
    const ipam = (family: 4 | 6) => gateways.filter((g) => g.family === family).map((g) => ({ Pool: `${g.network}/${g.prefixLength}`, Gateway: `${g.address}/${g.prefixLength}` }));
    if (ipam(4).length === 0) continue;
    // Every option the kernel cannot tell is the option parser's default, as for a network
    // created without -o; the bridge's MTU is what the kernel says.
    let config: NetworkConfig;
    try {
      config = parseNetworkRequest({ NetworkID: idPrefix, Options: { 'com.docker.network.enable_ipv6': ipam(6).length > 0 }, IPv4Data: ipam(4), IPv6Data: ipam(6) });
    } catch (e) {
      report.warnings.push(`bridge ${br.name} was not recovered as a tsnet network: its addresses do not make a network (${(e as Error).message}); left as it is`);
      continue;
    }
    if (config.bridge !== br.name) continue;
    config.mtu = br.mtu !== DEFAULT_MTU ? br.mtu : undefined;
    const subnets = [...config.ipv4, ...config.ipv6Subnets];
    driver.repository.putNetwork({ config, bridgeAdopted: false, createdAt: new Date().toISOString(), endpoints: records(), recovered: true });
    report.warnings.push(`recovered network ${idPrefix} from bridge ${br.name} (${subnets.map((s) => cidrToString(s.pool)).join(', ')}); its options are assumed default until dockerd speaks of it`);
  }
  // Veths of endpoints removed just before the crash are not endpoints: reconcile deletes them.
  const ownedVeths = new Set([...driver.repository.networks().flatMap((n) => Object.values(n.endpoints).map((e) => e.hostVeth)), ...driver.repository.deletingLinks()]);
  for (const net of driver.repository.networks()) {
    const br = links.find((l) => l.name === net.config.bridge);
    if (!br) continue;
    for (const v of links.filter((l) => l.masterIndex === br.index && l.name.startsWith(VETH_HOST_PREFIX) && !ownedVeths.has(l.name))) {
      const kept = orphans.find((o) => o.hostVeth === v.name);
      const epPrefix = v.name.slice(VETH_HOST_PREFIX.length);
      if (!kept && !RECOVERABLE_ID.test(epPrefix)) {
        report.warnings.push(`veth ${v.name} on ${br.name} was not recovered as an endpoint: "${epPrefix}" is not the start of an endpoint ID (11 hex digits); left as it is`);
        continue;
      }
      const ep: EndpointRecord = kept
        ? { ...kept, networkId: net.config.id }
        : {
            id: epPrefix,
            networkId: net.config.id,
            hostVeth: v.name,
            containerVeth: vethContainerName(epPrefix),
            mac: '',
            joined: v.peerIndex !== undefined && !links.some((l) => l.index === v.peerIndex),
            ports: [],
            createdAt: new Date().toISOString(),
            recovered: true,
          };
      driver.repository.putEndpoint(net, ep);
      report.warnings.push(`recovered endpoint ${ep.id.slice(0, 12)} (veth ${v.name}) of network ${net.config.id.slice(0, 12)}${kept ? ' with its saved record' : ' from the kernel'}`);
    }
  }
}
