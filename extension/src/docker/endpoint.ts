/**
 * Which Docker Engine the extension talks to, found the way the docker CLI finds it:
 *   1. the `tsnet.dockerHost` setting (machine-scoped; like `docker --host`),
 *   2. DOCKER_HOST,
 *   3. DOCKER_CONTEXT,
 *   4. `currentContext` of the CLI's config.json (`docker context use NAME`),
 *   5. the default socket /var/run/docker.sock.
 * A context NAME is read from <config>/contexts/meta/<sha256(NAME)>/meta.json, its TLS files from
 * <config>/contexts/tls/<sha256(NAME)>/docker/; <config> is DOCKER_CONFIG or ~/.docker. Contexts
 * are how Docker Desktop, rootless Docker, Colima and remote engines are reached.
 * Pure apart from the file reads (passed in), so it is unit-tested on made-up config folders.
 */
import { createHash } from 'crypto';
import * as os from 'os';
import * as path from 'path';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export type EndpointSource = 'setting' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'docker context' | 'default';

export interface DockerEndpoint {
  /** tcp://, unix://, ssh:// or npipe:// URL. */
  host: string;
  source: EndpointSource;
  /** The context it came from (not for a setting or DOCKER_HOST). */
  context?: string;
  /** TLS material (PEM text), from the context's tls folder or DOCKER_CERT_PATH. */
  tls?: { ca?: string; cert?: string; key?: string; verify: boolean };
  /** How the views name the engine: "context colima", "unix:///run/user/1000/docker.sock"... */
  label: string;
}

/** What dockerode takes for the endpoint. */
export interface DockerodeOptions {
  socketPath?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https' | 'ssh';
  username?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface EndpointInputs {
  setting?: string;
  env: Record<string, string | undefined>;
  home?: string;
  /** Reads a file as UTF-8; undefined when it does not exist. */
  readFile: (file: string) => string | undefined;
}

export class EndpointError extends Error {}

export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function configDir(inputs: EndpointInputs): string {
  return inputs.env.DOCKER_CONFIG || path.join(inputs.home ?? os.homedir(), '.docker');
}

function tlsFromDir(dir: string, inputs: EndpointInputs, verify: boolean): DockerEndpoint['tls'] | undefined {
  const ca = inputs.readFile(path.join(dir, 'ca.pem'));
  const cert = inputs.readFile(path.join(dir, 'cert.pem'));
  const key = inputs.readFile(path.join(dir, 'key.pem'));
  return ca || cert || key ? { ca, cert, key, verify } : undefined;
}

function fromContext(name: string, source: EndpointSource, inputs: EndpointInputs): DockerEndpoint | undefined {
  if (name === 'default') return undefined; // the CLI's built-in context: DOCKER_HOST or the default socket
  const dir = configDir(inputs);
  const metaFile = path.join(dir, 'contexts', 'meta', contextDirName(name), 'meta.json');
  const text = inputs.readFile(metaFile);
  if (text === undefined) throw new EndpointError(`Docker context "${name}" (from ${source}) does not exist: no ${metaFile}. List contexts with \`docker context ls\`.`);
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(text) as typeof meta;
  } catch (e) {
    throw new EndpointError(`Docker context "${name}": ${metaFile} is not JSON (${(e as Error).message}).`);
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new EndpointError(`Docker context "${name}" has no docker endpoint (Endpoints.docker.Host in ${metaFile}).`);
  const tls = tlsFromDir(path.join(dir, 'contexts', 'tls', contextDirName(name), 'docker'), inputs, !meta.Endpoints?.docker?.SkipTLSVerify);
  return { host: checkHost(host, `context "${name}"`), source, context: name, tls, label: `context ${name}` };
}

function checkHost(host: string, from: string): string {
  const h = host.trim();
  if (/^(unix|tcp|ssh|npipe|http|https):\/\/./.test(h)) return h;
  throw new EndpointError(`Docker endpoint "${host}" (${from}) is not a URL the extension accepts: unix:///path/docker.sock, tcp://host:2376, ssh://user@host.`);
}

function envTls(inputs: EndpointInputs): DockerEndpoint['tls'] | undefined {
  const verify = !!inputs.env.DOCKER_TLS_VERIFY && inputs.env.DOCKER_TLS_VERIFY !== '0';
  if (!verify && !inputs.env.DOCKER_CERT_PATH) return undefined;
  const certDir = inputs.env.DOCKER_CERT_PATH || configDir(inputs);
  return tlsFromDir(certDir, inputs, verify) ?? (verify ? { verify } : undefined);
}

export function resolveEndpoint(inputs: EndpointInputs): DockerEndpoint {
  const setting = inputs.setting?.trim();
  if (setting) {
    // A bare context name is a context; anything with :// is a host.
    if (!setting.includes('://')) {
      const ctx = fromContext(setting, 'setting', inputs);
      if (ctx) return ctx;
    } else {
      const host = checkHost(setting, 'the tsnet.dockerHost setting');
      return { host, source: 'setting', tls: envTls(inputs), label: host };
    }
  }
  const envHost = inputs.env.DOCKER_HOST?.trim();
  if (envHost) {
    const host = checkHost(envHost, 'DOCKER_HOST');
    return { host, source: 'DOCKER_HOST', tls: envTls(inputs), label: host };
  }
  const envContext = inputs.env.DOCKER_CONTEXT?.trim();
  if (envContext) {
    const ctx = fromContext(envContext, 'DOCKER_CONTEXT', inputs);
    if (ctx) return ctx;
  } else {
    const configFile = path.join(configDir(inputs), 'config.json');
    const text = inputs.readFile(configFile);
    let current: string | undefined;
    if (text !== undefined) {
      try {
        current = (JSON.parse(text) as { currentContext?: string }).currentContext;
      } catch {
        // A config.json the CLI itself would refuse: the default endpoint, as with no file.
      }
    }
    if (current) {
      const ctx = fromContext(current, 'docker context', inputs);
      if (ctx) return ctx;
    }
  }
  return { host: DEFAULT_DOCKER_HOST, source: 'default', label: 'default socket' };
}

/** dockerode's options for an endpoint. */
export function dockerodeOptions(e: DockerEndpoint): DockerodeOptions {
  const u = new URL(e.host);
  const tls = e.tls ? { ca: e.tls.ca, cert: e.tls.cert, key: e.tls.key } : {};
  switch (u.protocol) {
    case 'unix:':
      return { socketPath: decodeURIComponent(u.pathname) };
    case 'npipe:':
      return { socketPath: e.host.replace(/^npipe:\/\//, '').replace(/\//g, '\\') };
    case 'ssh:':
      return { protocol: 'ssh', host: u.hostname, port: u.port ? Number(u.port) : 22, username: decodeURIComponent(u.username) || undefined };
    default: {
      const secure = u.protocol === 'https:' || (e.tls !== undefined && (e.tls.verify || !!e.tls.cert));
      return { protocol: secure ? 'https' : 'http', host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : secure ? 2376 : 2375, ...(secure ? tls : {}) };
    }
  }
}

/** Whether the engine runs on this machine (its plugin sockets and /sys can be looked at). */
export function isLocalEndpoint(e: DockerEndpoint): boolean {
  return e.host.startsWith('unix://');
}

/** What the `docker` CLI in the shell's terminal needs to reach the engine the views show. */
export function cliEnv(e: DockerEndpoint | undefined): Record<string, string> | undefined {
  if (!e || e.source !== 'setting') return undefined; // DOCKER_HOST / DOCKER_CONTEXT / the current context: the CLI finds it itself
  return e.context ? { DOCKER_CONTEXT: e.context } : { DOCKER_HOST: e.host };
}
