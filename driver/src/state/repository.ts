/**
 * The one owner of the driver's networks and endpoints in memory: lookups (by ID, by a recovered
 * record's ID prefix, across networks), the changes the core makes, the links this driver is
 * about to create, and marking what changed for the store. The store (store.ts) only persists
 * what this repository holds; nothing else reaches into the state document.
 */
import type { Store } from './store';
import { own, records, type EndpointRecord, type NetworkRecord, type PortMapRecord, type StateDocument } from './types';

export class StateRepository {
  private readonly doc: StateDocument;
  /**
   * The endpoints holding each link name (host and container end) and each address
   * (`<network ID>|<address>`), kept with every change below: the checks of a CreateEndpoint look
   * names and addresses up here instead of walking every endpoint (with 1,000 endpoints the walk,
   * over objects V8 keeps as dictionaries, was a third of the call's CPU time).
   */
  private readonly byLink = new Map<string, EndpointRecord[]>();
  private readonly byAddress = new Map<string, EndpointRecord[]>();

  constructor(
    doc: StateDocument,
    private readonly store: Store,
  ) {
    // Keyed by Docker IDs: containers without a prototype, so "__proto__" or "toString" is a plain key.
    doc.networks = records(doc.networks);
    for (const n of Object.values(doc.networks)) n.endpoints = records(n.endpoints);
    this.doc = doc;
    for (const n of Object.values(doc.networks)) for (const e of Object.values(n.endpoints)) this.index(n, e);
    store.bind(() => this.doc);
  }

  /** The whole state, to read (status, tests); changes go through the methods below. */
  get snapshot(): Readonly<StateDocument> {
    return this.doc;
  }

  // ---- lookups ---------------------------------------------------------------------------

  network(id: string): NetworkRecord | undefined {
    return own(this.doc.networks, id);
  }

  networks(): NetworkRecord[] {
    return Object.values(this.doc.networks);
  }

  networkIds(): string[] {
    return Object.keys(this.doc.networks);
  }

  /** A network rebuilt from the kernel is known by a prefix of its ID until dockerd names it. */
  recoveredNetworkFor(id: string): NetworkRecord | undefined {
    return this.networks().find((n) => n.recovered && typeof id === 'string' && id.startsWith(n.config.id));
  }

  endpoint(net: NetworkRecord, id: string): EndpointRecord | undefined {
    return own(net.endpoints, id);
  }

  /** An endpoint rebuilt from the kernel, known by a prefix of `id`. */
  recoveredEndpointFor(net: NetworkRecord, id: string): EndpointRecord | undefined {
    return typeof id === 'string' ? Object.values(net.endpoints).find((e) => e.recovered && id.startsWith(e.id) && e.id.length < id.length) : undefined;
  }

  /** The endpoint with this ID on any network. */
  findEndpoint(id: string): EndpointRecord | undefined {
    for (const n of this.networks()) {
      const ep = own(n.endpoints, id);
      if (ep) return ep;
    }
    return undefined;
  }

  /** Endpoints (on any network) whose host or container end has this interface name. */
  endpointsWithLink(name: string): readonly EndpointRecord[] {
    return this.byLink.get(name) ?? [];
  }

  /** Endpoints of this network that hold this address (without prefix length, as recorded). */
  endpointsWithAddress(net: NetworkRecord, address: string): readonly EndpointRecord[] {
    return this.byAddress.get(`${net.config.id}|${address}`) ?? [];
  }

  /** Every port map of every endpoint. */
  portMaps(): PortMapRecord[] {
    return this.networks().flatMap((n) => Object.values(n.endpoints).flatMap((e) => e.ports));
  }

  // ---- changes in memory (the caller persists them by marking and saving) --------------------

  putNetwork(rec: NetworkRecord): void {
    const before = own(this.doc.networks, rec.config.id);
    if (before) for (const e of Object.values(before.endpoints)) this.unindex(before, e);
    this.doc.networks[rec.config.id] = rec;
    for (const e of Object.values(rec.endpoints)) this.index(rec, e);
  }

  removeNetwork(id: string): void {
    const net = own(this.doc.networks, id);
    if (net) for (const e of Object.values(net.endpoints)) this.unindex(net, e);
    delete this.doc.networks[id];
  }

  putEndpoint(net: NetworkRecord, ep: EndpointRecord): void {
    const before = own(net.endpoints, ep.id);
    if (before) this.unindex(net, before);
    net.endpoints[ep.id] = ep;
    this.index(net, ep);
  }

  removeEndpoint(net: NetworkRecord, id: string): void {
    const ep = own(net.endpoints, id);
    if (ep) this.unindex(net, ep);
    delete net.endpoints[id];
  }

  /** dockerd named a recovered network: it is known by its full ID from now on (marked for saving). */
  completeNetworkId(net: NetworkRecord, id: string): void {
    for (const e of Object.values(net.endpoints)) this.unindex(net, e);
    delete this.doc.networks[net.config.id];
    this.markNetworkDirty(net.config.id).markNetworkDirty(id);
    net.config.id = id;
    for (const e of Object.values(net.endpoints)) {
      e.networkId = id;
      this.markEndpointDirty(e.id);
    }
    this.doc.networks[id] = net;
    for (const e of Object.values(net.endpoints)) this.index(net, e);
  }

  /** dockerd named a recovered endpoint: it is known by its full ID from now on (marked for saving). */
  completeEndpointId(net: NetworkRecord, ep: EndpointRecord, id: string): void {
    delete net.endpoints[ep.id];
    this.markEndpointDirty(ep.id).markEndpointDirty(id);
    ep.id = id;
    ep.recovered = undefined;
    net.endpoints[id] = ep;
  }

  private keys(net: NetworkRecord, ep: EndpointRecord): { links: string[]; addresses: string[] } {
    return {
      links: [ep.hostVeth, ep.containerVeth],
      addresses: [ep.ipv4, ep.ipv6].filter((a): a is string => !!a).map((a) => `${net.config.id}|${a.split('/')[0]}`),
    };
  }

  private index(net: NetworkRecord, ep: EndpointRecord): void {
    const { links, addresses } = this.keys(net, ep);
    for (const [map, keys] of [[this.byLink, links], [this.byAddress, addresses]] as const) {
      for (const k of keys) {
        const held = map.get(k);
        if (!held) map.set(k, [ep]);
        else if (!held.includes(ep)) held.push(ep);
      }
    }
  }

  private unindex(net: NetworkRecord, ep: EndpointRecord): void {
    const { links, addresses } = this.keys(net, ep);
    for (const [map, keys] of [[this.byLink, links], [this.byAddress, addresses]] as const) {
      for (const k of keys) {
        const rest = (map.get(k) ?? []).filter((e) => e !== ep);
        if (rest.length > 0) map.set(k, rest);
        else map.delete(k);
      }
    }
  }

  // ---- links this driver is about to create (journalled) and deletions not yet done ----------

  isPendingLink(name: string): boolean {
    return this.doc.pending?.includes(name) ?? false;
  }

  pendingLinks(): string[] {
    return [...(this.doc.pending ?? [])];
  }

  addPendingLink(name: string): void {
    const pending = (this.doc.pending ??= []);
    if (!pending.includes(name)) pending.push(name);
  }

  settlePendingLink(name: string): void {
    if (this.doc.pending?.includes(name)) this.doc.pending = this.doc.pending.filter((n) => n !== name);
  }

  /** Veths of endpoints removed before a crash whose deletion may not have run. */
  deletingLinks(): string[] {
    return [...(this.doc.deleting ?? [])];
  }

  /** After reconcile: every leftover was dealt with. */
  clearPendingAndDeleting(): void {
    this.doc.pending = [];
    this.doc.deleting = undefined;
  }

  // ---- marking for the store ---------------------------------------------------------------

  markNetworkDirty(id: string): Store {
    return this.store.markNetworkDirty(id);
  }

  markEndpointDirty(id: string): Store {
    return this.store.markEndpointDirty(id);
  }

  markAllDirty(): Store {
    return this.store.markAllDirty();
  }
}
