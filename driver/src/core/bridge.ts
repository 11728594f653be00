/**
 * What a network's bridge must keep while containers come and go. A Linux bridge with no MAC of
 * its own takes the lowest MAC of its ports (00:00:00:00:00:00 with none) and, with no MTU of its
 * own, the lowest MTU of its ports: the gateway's MAC would change under running containers each
 * time a neighbour joins or leaves, and their ARP entries for the gateway would point at a MAC
 * nobody answers for until they expire (seconds to tens of seconds without a way out).
 * So every bridge gets both set explicitly, as Docker's bridge driver does.
 */
import { createHash } from 'node:crypto';

/** The kernel's default MTU for a new bridge (and tsnet's when no MTU option is given). */
export const DEFAULT_MTU = 1500;

/**
 * The MAC of a bridge tsnet creates: locally administered unicast (first byte 0x06, so never in
 * the 02:42 range container MACs come from), derived from the network ID so a bridge re-created
 * at start-up gets the MAC its containers already know.
 */
export function bridgeMac(networkId: string): string {
  const h = createHash('sha256').update(`tsnet bridge ${networkId}`).digest();
  return [0x06, ...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A MAC the kernel accepts as a bridge's own: unicast and not all zero. */
export function isUsableBridgeMac(mac: string | undefined): mac is string {
  if (!mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) return false;
  const first = parseInt(mac.slice(0, 2), 16);
  return (first & 1) === 0 && mac !== '00:00:00:00:00:00';
}

/** The MAC to pin on an existing bridge: its own when usable (containers know it), else the derived one. */
export function pinnedMacFor(networkId: string, current: string | undefined): string {
  return isUsableBridgeMac(current) ? current : bridgeMac(networkId);
}
