/**
 * The inspected containers, kept between refreshes: a refresh lists containers (one cheap call)
 * and inspects only those that are new, that a `docker events` burst named, or whose list entry
 * changed (state, names, networks, ports). A full refresh (start, the Refresh command, a
 * reconnected event stream, which may have missed events) inspects every container again.
 */
import type { DockerContainer } from './docker-types';

/** What `GET /containers/json?all=1` gives per container (the parts compared here). */
export interface ContainerListEntry {
  Id: string;
  Names?: string[];
  Image?: string;
  State?: string;
  Ports?: unknown;
  Labels?: Record<string, string> | null;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

/** Which containers a refresh must read again: all of them, or the named ones (plus whatever changed in the list). */
export type Touched = 'all' | ReadonlySet<string>;

/** The list entry's parts that the inspect's model depends on ("Up 3 minutes" text is left out: it changes every minute). */
export function listFingerprint(e: ContainerListEntry): string {
  return JSON.stringify([e.Names, e.Image, e.State, e.Ports, e.Labels, e.HostConfig?.NetworkMode, e.NetworkSettings?.Networks]);
}

export class ContainerCache {
  private readonly byId = new Map<string, { fingerprint: string; inspect: DockerContainer }>();

  /**
   * The inspected containers for `list`, in list order. `inspect` answers undefined for a
   * container removed since the list. Returns how many inspects it made (the benchmark counts them).
   */
  async update(list: ContainerListEntry[], touched: Touched, inspect: (id: string) => Promise<DockerContainer | undefined>): Promise<{ containers: DockerContainer[]; inspected: number }> {
    const present = new Set(list.map((e) => e.Id));
    for (const id of [...this.byId.keys()]) if (!present.has(id)) this.byId.delete(id);
    let inspected = 0;
    const containers = await Promise.all(
      list.map(async (e) => {
        const fingerprint = listFingerprint(e);
        const cached = this.byId.get(e.Id);
        if (cached && touched !== 'all' && !touched.has(e.Id) && cached.fingerprint === fingerprint) return cached.inspect;
        inspected++;
        const c = await inspect(e.Id);
        if (c) this.byId.set(e.Id, { fingerprint, inspect: c });
        else this.byId.delete(e.Id);
        return c;
      }),
    );
    return { containers: containers.filter((c): c is DockerContainer => !!c), inspected };
  }

  get size(): number {
    return this.byId.size;
  }
}
