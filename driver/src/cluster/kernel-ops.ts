/**
 * The multi-host data plane's kernel operations, synchronous, on a netlink socket of the calling
 * thread; run inside the cluster kernel worker only. `converge` makes the VXLAN link's routes,
 * neighbours and FDB entries exactly the desired ones: it adds what is missing or different and
 * deletes only entries tsnet owns (routes with RTPROT_TSNET, permanent entries on its own link),
 * and never flushes what is already right, so traffic does not blink on a restart.
 */
import { decodeLink, deleteLinkRequest, getLinkRequest } from '../netlink/rtnl';
import { KernelError, NETLINK_ROUTE, NetlinkSocket } from '../netlink/socket';
import { NetlinkError, ENODEV } from '../netlink/types';
import { decodeNeighbour, decodeRoute, decodeVxlanInfo, dumpNeighboursRequest, dumpRoutesRequest, fdbRequest, neighbourRequest, newVxlanRequest, NUD_PERMANENT, onlinkRouteRequest, RTPROT_TSNET, setLinkMacRequest, type Fdb, type Neighbour, type OnlinkRoute, type VxlanSpec } from './rtnl';
import { AF_BRIDGE, AF_INET } from '../netlink/message';
import type { Request } from '../netlink/rtnl';

export interface DesiredPeers {
  routes: OnlinkRoute[];
  neighbours: Neighbour[];
  fdb: Fdb[];
}

export interface ConvergeResult {
  added: number;
  removed: number;
  kept: number;
}

function wrap<T>(op: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KernelError) throw new NetlinkError(`${what}: ${e.message}`, e.errno, op);
    throw e;
  }
}

export class ClusterKernelOps {
  private readonly sock = new NetlinkSocket(NETLINK_ROUTE);

  private send(r: Request) {
    return this.sock.request(r.type, r.flags, r.payload);
  }
  private dump(r: Request) {
    return this.sock.dump(r.type, r.flags, r.payload);
  }

  private linkIndex(name: string): number | undefined {
    try {
      return decodeLink(this.send(getLinkRequest(name))[0]).index;
    } catch (e) {
      if (e instanceof KernelError && e.errno === ENODEV) return undefined;
      throw e;
    }
  }

  /** Creates the VXLAN link, or keeps the existing one when it is up and VNI, local address, port and MAC match (else re-creates it). Returns its ifindex. */
  ensureVxlan(spec: VxlanSpec): number {
    return wrap('ensureVxlan', `VXLAN link ${spec.name}`, () => {
      const existing = this.linkIndex(spec.name);
      if (existing !== undefined) {
        const [msg] = this.send(getLinkRequest(spec.name));
        const link = decodeLink(msg);
        const info = decodeVxlanInfo(msg);
        if (link.kind === 'vxlan' && link.up && info.vni === spec.vni && info.local === spec.local && info.port === spec.port && link.mac === spec.mac) {
          return existing;
        }
        this.send(deleteLinkRequest(spec.name));
      }
      this.send(newVxlanRequest(spec));
      return this.linkIndex(spec.name)!;
    });
  }

  /** The ifindex of each named link that exists. */
  linkIndexes(names: string[]): Record<string, number> {
    return wrap('linkIndexes', 'look up links', () => {
      const out: Record<string, number> = {};
      for (const n of names) {
        const i = this.linkIndex(n);
        if (i !== undefined) out[n] = i;
      }
      return out;
    });
  }

  setLinkMac(name: string, mac: string): void {
    wrap('setLinkMac', `set MAC of ${name}`, () => this.send(setLinkMacRequest(name, mac)));
  }

  deleteVxlan(name: string): void {
    wrap('deleteVxlan', `delete VXLAN link ${name}`, () => {
      if (this.linkIndex(name) !== undefined) this.send(deleteLinkRequest(name));
    });
  }

  converge(name: string, want: DesiredPeers): ConvergeResult {
    return wrap('converge', `program peers on ${name}`, () => {
      const ifindex = this.linkIndex(name);
      if (ifindex === undefined) throw new KernelError(ENODEV, undefined, `link ${name}`);
      const res: ConvergeResult = { added: 0, removed: 0, kept: 0 };

      const routes = this.dump(dumpRoutesRequest())
        .map(decodeRoute)
        .filter((r) => r !== undefined && r.protocol === RTPROT_TSNET && r.ifindex === ifindex);
      const wantRoutes = new Map(want.routes.map((r) => [r.dst, r]));
      for (const r of routes) {
        const w = wantRoutes.get(r!.dst);
        if (w && w.gateway === r!.gateway) {
          wantRoutes.delete(r!.dst);
          res.kept++;
        } else if (!w) {
          this.send(onlinkRouteRequest('delete', ifindex, { dst: r!.dst, gateway: r!.gateway ?? '0.0.0.0' }));
          res.removed++;
        }
      }

      const neigh = this.dump(dumpNeighboursRequest('inet'))
        .map(decodeNeighbour)
        .filter((n) => n.family === AF_INET && n.ifindex === ifindex && n.dst);
      const wantNeigh = new Map(want.neighbours.map((n) => [n.ip, n]));
      for (const n of neigh) {
        const w = wantNeigh.get(n.dst!);
        if (w && w.mac === n.mac && n.state === NUD_PERMANENT) {
          wantNeigh.delete(n.dst!);
          res.kept++;
        } else if (!w) {
          this.send(neighbourRequest('delete', ifindex, { ip: n.dst!, mac: n.mac ?? '00:00:00:00:00:00' }));
          res.removed++;
        }
      }

      const fdb = this.dump(dumpNeighboursRequest('bridge'))
        .map(decodeNeighbour)
        .filter((n) => n.family === AF_BRIDGE && n.ifindex === ifindex && n.mac && n.dst);
      const wantFdb = new Map(want.fdb.map((f) => [f.mac, f]));
      for (const f of fdb) {
        const w = wantFdb.get(f.mac!);
        if (w && w.dst === f.dst) {
          wantFdb.delete(f.mac!);
          res.kept++;
        } else if (!w) {
          this.send(fdbRequest('delete', ifindex, { mac: f.mac!, dst: f.dst! }));
          res.removed++;
        }
      }

      // FDB and neighbour first, so a new route never points at an unresolved next hop.
      for (const f of wantFdb.values()) {
        this.send(fdbRequest('add', ifindex, f));
        res.added++;
      }
      for (const n of wantNeigh.values()) {
        this.send(neighbourRequest('add', ifindex, n));
        res.added++;
      }
      for (const r of wantRoutes.values()) {
        this.send(onlinkRouteRequest('add', ifindex, r));
        res.added++;
      }
      return res;
    });
  }

  close(): void {
    this.sock.close();
  }
}
