/**
 * The managed plugin as the plugin tests see it (names from scripts/test-plugin.sh's environment),
 * the files its bundle ships, and the running driver's process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PLUGIN_NAME = process.env.TSNET_PLUGIN_NAME ?? 'tsnetp';
export const PLUGIN_TAG = process.env.TSNET_PLUGIN_TAG ?? 'latest';
export const PLUGIN_REF = `${PLUGIN_NAME}:${PLUGIN_TAG}`;
export const PLUGIN_STATUS_SOCKET = `${process.env.TSNET_PLUGIN_STATUS_DIR ?? `/run/${PLUGIN_NAME}`}/status.sock`;

/**
 * What driver/scripts/bundle-plugin.js writes: one bundle, a one-line program file per part
 * (driver, CLI, the three worker threads, the preload), etcd3's proto files and koffi's native
 * module for this machine only.
 */
export function bundleFiles(): string[] {
  const koffi = `node_modules/@koromix/koffi-${process.platform}-${process.arch}`;
  return [
    'driver/dist/kernel-worker.js',
    'driver/dist/main.js',
    'driver/dist/netlink-worker.js',
    'driver/dist/nft-worker.js',
    'driver/dist/tsnet-bundle.js',
    'driver/dist/tsnet.js',
    'driver/package.json',
    'driver/proto/auth.proto',
    'driver/proto/kv.proto',
    'driver/proto/rpc.proto',
    `${koffi}/index.js`,
    `${koffi}/${process.platform}_${process.arch}/koffi.node`,
    `${koffi}/package.json`,
    'plugin-preload.cjs',
  ];
}

/** Every file below dir, as paths relative to it. */
export function filesBelow(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? filesBelow(dir, p) : [p];
  });
}

/** The pid of the plugin's driver: the process whose environment carries its status socket. */
export function pluginPid(): number {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('/opt/tsnet/plugin-preload.cjs')) continue;
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`TSNET_STATUS_SOCKET=${PLUGIN_STATUS_SOCKET}`)) return Number(d);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no driver process of ${PLUGIN_REF} (status socket ${PLUGIN_STATUS_SOCKET}) found`);
}
