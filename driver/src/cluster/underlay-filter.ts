/**
 * The hostile underlay: VXLAN packets (UDP to the VXLAN port) from an address that is not a
 * registered tsnet host are dropped before the VXLAN socket sees them. One table of its own,
 * `inet tsnet-underlay`: an input chain with one rule and a set of the known hosts' underlay
 * addresses, replaced in one transaction whenever the host list changes.
 */
import { NftWorker } from '../firewall/nft';
import type { Json, NftCmd } from '../firewall/rules';

export const UNDERLAY_TABLE = 'tsnet-underlay';
const t = { family: 'inet', table: UNDERLAY_TABLE };

export function underlayCommands(port: number, hosts: string[]): NftCmd[] {
  const cmds: NftCmd[] = [
    { add: { table: { family: 'inet', name: UNDERLAY_TABLE } } },
    { add: { set: { ...t, name: 'vteps', type: 'ipv4_addr' } } },
    { add: { chain: { ...t, name: 'input', type: 'filter', hook: 'input', prio: -5, policy: 'accept' } } },
    { flush: { chain: { ...t, name: 'input' } } },
    {
      add: {
        rule: {
          ...t,
          chain: 'input',
          comment: 'tsnet: VXLAN only from known tsnet hosts',
          expr: [
            { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: port } },
            { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@vteps' } },
            { counter: null },
            { drop: null },
          ] as Json[],
        },
      },
    },
    { flush: { set: { ...t, name: 'vteps' } } },
  ];
  if (hosts.length > 0) cmds.push({ add: { element: { ...t, name: 'vteps', elem: [...hosts].sort() } } });
  return cmds;
}

export class UnderlayFilter {
  private last = '';

  /** `nft`: the cluster's libnftables worker (shared with the fast path). */
  constructor(private readonly nft: NftWorker = new NftWorker()) {}

  async apply(port: number, hosts: string[]): Promise<void> {
    const key = `${port} ${[...hosts].sort().join(',')}`;
    if (key === this.last) return;
    await this.nft.run(underlayCommands(port, hosts));
    this.last = key;
  }

  close(): Promise<void> {
    return this.nft.close();
  }
}
