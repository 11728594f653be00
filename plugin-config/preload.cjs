'use strict';
/*
 * Preloaded into the tsnet managed plugin's driver process:
 *   node --max-semi-space-size=1 -r /opt/tsnet/plugin-preload.cjs /opt/tsnet/driver/dist/main.js
 * Runs in the plugin's own mount namespace only; the host's mounts are never changed. Why each
 * step exists: docs/plugin.md, "Privileges".
 *
 * 0. The host's /var/lib and /run arrive whole at /host/var/lib and /host/run (they exist on every
 *    host, so a registry install needs nothing prepared). The state directory and the status
 *    socket's directory are created there when missing, bind-mounted at their own paths, and the
 *    two whole trees are unmounted again: the driver sees only its two directories.
 * 1. Docker's default spec mounts /proc/sys and /sys read-only in every plugin. The plugin runs in
 *    the host network namespace and the driver writes host network sysctls (net.ipv4.ip_forward,
 *    per-bridge route_localnet, IPv6 forwarding). Only /proc/sys/net is made writable, by a
 *    read-write bind mount onto itself: kernel.core_pattern, kernel.modprobe and all of /sys stay
 *    read-only (bridge-port flags are set over rtnetlink, not through /sys).
 * 2. That needed CAP_SYS_ADMIN, and nothing after it does (the driver never enters another
 *    namespace and mounts nothing). So every capability but KEEP is dropped from the bounding,
 *    inheritable, permitted and effective sets, and node is exec'd again: capabilities are
 *    per thread, and exec is the one way to leave no thread of the process holding the old ones.
 */
const fs = require('node:fs');
const path = require('node:path');

const MS_NOSUID = 0x2, MS_NODEV = 0x4, MS_NOEXEC = 0x8, MS_REMOUNT = 0x20, MS_BIND = 0x1000, MS_REC = 0x4000, MS_PRIVATE = 0x40000;
const MNT_DETACH = 2;
const CAP = { CHOWN: 0, NET_ADMIN: 12, NET_RAW: 13, SETPCAP: 8 };
/**
 * What the driver needs for its whole life: NET_ADMIN (links, addresses, nftables, conntrack,
 * sysctls of the network namespace), NET_RAW (libip4tc's raw socket on iptables-legacy hosts),
 * CHOWN (the status socket to the docker group).
 */
const KEEP = [CAP.NET_ADMIN, CAP.NET_RAW, CAP.CHOWN];
/**
 * Subtrees the driver writes, each with a file that tells whether it is writable (access() on a
 * sysctl directory answers EACCES before it looks at the mount); the rest stays read-only.
 */
const WRITABLE = [
  { path: '/proc/sys/net', probe: '/proc/sys/net/ipv4/ip_forward' },
];
const DONE_ENV = 'TSNET_PLUGIN_PRIVILEGES_DROPPED';

function warn(msg) {
  process.stderr.write(`tsnet plugin: ${msg}\n`);
}

let libc;
function lib() {
  if (!libc) {
    const koffi = require('koffi');
    const l = koffi.load('libc.so.6');
    libc = {
      koffi,
      mount: l.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
      umount2: l.func('int umount2(const char *target, int flags)'),
      prctl: l.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
      capset: l.func('int capset(void *hdr, void *data)'),
      execve: l.func('int execve(const char *path, const char **argv, const char **envp)'),
      fcntl: l.func('int fcntl(int fd, int cmd, int arg)'),
    };
  }
  return libc;
}

function writable(path) {
  try {
    fs.accessSync(path, fs.constants.W_OK);
    return true;
  } catch (e) {
    return e.code !== 'EROFS';
  }
}

/** A read-write bind mount of `path` onto itself (its parent mount stays read-only). */
function makeWritable({ path, probe }) {
  if (writable(probe)) return;
  const { mount, koffi } = lib();
  if (mount(path, path, null, MS_BIND, null) !== 0 || mount(null, path, null, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, null) !== 0) {
    warn(`cannot make ${path} writable (errno ${koffi.errno()}): writes below it will fail`);
  }
}

/**
 * The host directories the driver keeps, each below a host tree mounted whole at /host/<tree>;
 * undefined entries (no such variable) are skipped.
 */
function hostDirs() {
  return [
    { name: 'TSNET_STATE_DIR', dir: process.env.TSNET_STATE_DIR, tree: '/var/lib', mode: 0o700 },
    { name: 'TSNET_STATUS_SOCKET', dir: process.env.TSNET_STATUS_SOCKET && path.dirname(process.env.TSNET_STATUS_SOCKET), tree: '/run', mode: 0o755 },
  ].filter((d) => d.dir);
}

function fail(msg) {
  process.stderr.write(`tsnet plugin: cannot start: ${msg}\n`);
  process.exit(1);
}

/** Step 0: mount each host directory at its own path (creating it on the host), then drop the trees. */
function placeHostDirs() {
  const { mount, umount2, koffi } = lib();
  const trees = new Set();
  for (const { name, dir, tree, mode } of hostDirs()) {
    const at = path.posix.normalize(dir);
    if (!at.startsWith(`${tree}/`) || at.split('/').includes('..')) fail(`${name} must be below ${tree} (it is ${dir})`);
    const hostTree = `/host${tree}`;
    if (!fs.existsSync(hostTree)) fail(`the plugin's mount of the host's ${tree} at ${hostTree} is missing (an old config.json?)`);
    trees.add(hostTree);
    const onHost = `/host${at}`;
    if (!fs.existsSync(onHost)) fs.mkdirSync(onHost, { recursive: true, mode });
    fs.mkdirSync(at, { recursive: true });
    if (mount(onHost, at, null, MS_BIND | MS_REC, null) !== 0) fail(`cannot mount ${onHost} at ${at} (errno ${koffi.errno()})`);
  }
  for (const t of trees) {
    // Private first, so the unmount of the tree's submounts never propagates to the host's.
    if (mount(null, t, null, MS_REC | MS_PRIVATE, null) !== 0 || umount2(t, MNT_DETACH) !== 0) fail(`cannot unmount ${t} (errno ${koffi.errno()})`);
  }
}

function capLastCap() {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  } catch {
    return 40;
  }
}

/** Drops every capability but KEEP, then re-executes node with the same arguments. */
function dropPrivilegesAndExec() {
  const { prctl, capset, execve, fcntl, koffi } = lib();
  const PR_CAPBSET_DROP = 24, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_CLEAR_ALL = 4;
  // The bounding set first: dropping from it needs CAP_SETPCAP, which the capset below removes.
  for (let cap = 0; cap <= capLastCap(); cap++) {
    if (!KEEP.includes(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) !== 0 && koffi.errno() !== 22) {
      warn(`cannot drop capability ${cap} from the bounding set (errno ${koffi.errno()}); keeping the privileges`);
      return;
    }
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  const mask = KEEP.reduce((m, c) => m | (1 << c), 0) >>> 0;
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(0x20080522, 0); // _LINUX_CAPABILITY_VERSION_3, pid 0 = this thread
  const data = Buffer.alloc(24); // two { effective, permitted, inheritable } words; KEEP is all < 32
  data.writeUInt32LE(mask, 0);
  data.writeUInt32LE(mask, 4);
  data.writeUInt32LE(mask, 8);
  if (capset(hdr, data) !== 0) {
    warn(`capset failed (errno ${koffi.errno()}); keeping the privileges`);
    return;
  }
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const env = Object.entries({ ...process.env, [DONE_ENV]: '1' }).map(([k, v]) => `${k}=${v}`);
  const F_SETFD = 2;
  for (const fd of [0, 1, 2]) fcntl(fd, F_SETFD, 0); // node marks its stdio close-on-exec; dockerd reads the log from them
  execve(process.execPath, [...argv, null], [...env, null]);
  warn(`exec of ${process.execPath} failed (errno ${koffi.errno()}); running on with the other threads' privileges`);
}

// -r preloads run again in every worker thread, and after the exec: only the first main thread acts.
if (require('node:worker_threads').isMainThread && !process.env[DONE_ENV]) {
  if (process.env.TSNET_PLUGIN === '1') placeHostDirs();
  for (const p of WRITABLE) makeWritable(p);
  dropPrivilegesAndExec();
} else if (process.env[DONE_ENV]) {
  delete process.env[DONE_ENV];
}
