/** Helpers the UI suites share: a free local port, waiting for a condition, and cleaning up by name prefix. */
import * as net from 'net';
import Docker from 'dockerode';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Removes only what a suite made: containers and networks whose names start with `prefix`. */
export async function removeObjectsNamed(docker: Docker, prefix: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ name: [prefix] }) });
  for (const c of containers) {
    if (!c.Names.some((n) => n.replace(/^\//, '').startsWith(prefix))) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  const networks = await docker.listNetworks({ filters: JSON.stringify({ name: [prefix] }) });
  for (const n of networks) {
    if (!n.Name.startsWith(prefix)) continue;
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

/** Polls `fn` until it yields something truthy, or fails naming what it waited for. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, stepMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
