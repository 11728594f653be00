/**
 * Watches `docker events` for what changes the graph (networks created, removed, connected,
 * disconnected; containers started, stopped, removed...) and calls `onChange` once per burst
 * (debounced) with the containers the burst touched, so only those are read again. A lost stream
 * reconnects with back-off and triggers a full refresh, since events may have been missed meanwhile.
 */
import type Docker from 'dockerode';
import type { Touched } from './container-cache';

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The container an event is about: the actor of a container event, `container` of a network (dis)connect. */
export function eventContainer(e: DockerEvent): string | undefined {
  if (e.Type === 'container') return e.Actor?.ID || undefined;
  if (e.Type === 'network') return e.Actor?.Attributes?.container || undefined;
  return undefined;
}

export const WATCHED_EVENTS: Record<string, readonly string[]> = {
  network: ['create', 'destroy', 'remove', 'connect', 'disconnect'],
  container: ['create', 'start', 'die', 'stop', 'destroy', 'rename', 'pause', 'unpause'],
};

export function isRelevantEvent(e: DockerEvent): boolean {
  const actions = e.Type ? WATCHED_EVENTS[e.Type] : undefined;
  const action = (e.Action ?? e.status ?? '').split(':')[0];
  return !!actions && actions.includes(action);
}

export interface EventWatcherOptions {
  debounceMs?: number;
  minReconnectMs?: number;
  maxReconnectMs?: number;
  /** `touched`: the containers the burst named, or 'all' after a reconnect. */
  onChange: (reason: string, touched: Touched) => void;
  onState?: (connected: boolean, error?: string) => void;
}

export class DockerEventWatcher {
  private stream: NodeJS.ReadableStream | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private stopped = false;
  private pendingReasons = new Set<string>();
  private pendingTouched: Set<string> | 'all' = new Set();

  constructor(private readonly docker: Docker, private readonly opts: EventWatcherOptions) {
    this.backoff = opts.minReconnectMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      const stream: NodeJS.ReadableStream = await this.docker.getEvents({
        filters: JSON.stringify({ type: Object.keys(WATCHED_EVENTS) }),
      });
      if (this.stopped) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        return;
      }
      this.stream = stream;
      this.backoff = this.opts.minReconnectMs ?? 1000;
      this.opts.onState?.(true);
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            const e = JSON.parse(line) as DockerEvent;
            if (isRelevantEvent(e)) this.schedule(`${e.Type} ${e.Action}`, eventContainer(e));
          } catch {
            // A partial or foreign line: the next refresh picks up the state anyway.
          }
        }
      });
      const lost = (err?: Error) => {
        if (this.stream !== stream) return;
        this.stream = undefined;
        this.reconnect(err?.message ?? 'the event stream ended');
      };
      stream.on('error', lost);
      stream.on('end', () => lost());
      stream.on('close', () => lost());
    } catch (e) {
      this.reconnect((e as Error).message);
    }
  }

  private reconnect(why: string): void {
    if (this.stopped) return;
    this.opts.onState?.(false, why);
    clearTimeout(this.reconnectTimer);
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxReconnectMs ?? 30000);
    this.reconnectTimer = setTimeout(() => {
      this.schedule('reconnected', 'all');
      void this.connect();
    }, delay);
  }

  private schedule(reason: string, container?: string | 'all'): void {
    this.pendingReasons.add(reason);
    if (container === 'all') this.pendingTouched = 'all';
    else if (container && this.pendingTouched !== 'all') this.pendingTouched.add(container);
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      const reasons = [...this.pendingReasons].join(', ');
      const touched = this.pendingTouched;
      this.pendingReasons.clear();
      this.pendingTouched = new Set();
      this.opts.onChange(reasons, touched);
    }, this.opts.debounceMs ?? 300);
  }

  dispose(): void {
    this.stopped = true;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.reconnectTimer);
    const s = this.stream as unknown as { destroy?: () => void } | undefined;
    this.stream = undefined;
    s?.destroy?.();
  }
}
