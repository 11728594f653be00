/** Published ports as links: which ones speak HTTP, and the URL that reaches them from this machine. */

/** Ports that usually speak HTTP(S); the tree offers "open in browser" for them. */
const HTTP_PORTS = new Set([80, 443, 3000, 4200, 5000, 5173, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9090]);
const HTTPS_PORTS = new Set([443, 8443]);

export function isHttpPort(port: { proto: string; containerPort: number }): boolean {
  return port.proto === 'tcp' && HTTP_PORTS.has(port.containerPort);
}

/** URL of a published port as seen from this machine (the Docker host's name when DOCKER_HOST is tcp://). */
export function portUrl(port: { hostIP: string; hostPort: number; containerPort: number }, dockerHost?: string): string {
  const scheme = HTTPS_PORTS.has(port.containerPort) ? 'https' : 'http';
  let host = port.hostIP;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const remote = dockerHost && /^(tcp|ssh|https?):\/\//.test(dockerHost) ? new URL(dockerHost.replace(/^tcp:/, 'http:')).hostname : undefined;
    host = remote || 'localhost';
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${scheme}://${host}:${port.hostPort}/`;
}
