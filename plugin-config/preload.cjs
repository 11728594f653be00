'use strict';
/*
 * Preloaded into the tsnet managed plugin's driver process:
 *   node -r /opt/tsnet/plugin-preload.cjs /opt/tsnet/driver/dist/main.js
 * (a .cjs name, so the command line still shows driver/dist/main.js as the script and other
 * tsnet drivers on the host recognise this process as a peer). Runs in the plugin's own mount
 * namespace only; the host's mounts are never changed. Needs CAP_SYS_ADMIN (held anyway for
 * setns) and, for 2., CAP_SYS_PTRACE + pidhost (see docs/plugin.md).
 *
 * 1. Docker's default OCI spec mounts /proc/sys read-only in every plugin. The plugin runs in the
 *    host network namespace and the driver writes host network sysctls (net.ipv4.ip_forward,
 *    per-bridge route_localnet, IPv6 forwarding): the read-only overlay is detached.
 *    Likewise /sys (sysfs, read-only by default): the driver writes bridge-port attributes
 *    such as /sys/class/net/IF/brport/hairpin_mode; it is remounted read-write.
 * 2. The driver's start-up reconcile sweeps tsnet-named kernel objects no store owns, but leaves
 *    alone those of other live tsnet drivers, whose stores it reads at the paths their command
 *    line or environment name. Inside the plugin those host paths do not exist (own rootfs), so
 *    each live peer's state directory path is made a symlink to /proc/PID/root/PATH (a bind
 *    mount from another mount namespace is refused with EINVAL). Without this, starting the
 *    plugin deleted the bridges of host-process drivers running next to it (seen).
 */
const fs = require('node:fs');
const path = require('node:path');

function warn(msg) {
  process.stderr.write(`tsnet plugin: ${msg}\n`);
}

let libc;
function lib() {
  if (!libc) {
    const koffi = require('koffi');
    const l = koffi.load('libc.so.6');
    libc = {
      umount2: l.func('int umount2(const char *target, int flags)'),
      mount: l.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    };
  }
  return libc;
}

function procSysWritable() {
  try {
    fs.accessSync('/proc/sys/net/ipv4/ip_forward', fs.constants.W_OK);
    return true;
  } catch (e) {
    return e.code !== 'EROFS';
  }
}

function sysWritable() {
  try {
    fs.accessSync('/sys/class/net', fs.constants.W_OK);
    return true;
  } catch (e) {
    return e.code !== 'EROFS';
  }
}

/** The plugin's own sysfs (it shows the host's interfaces: host network) is mounted read-only. */
function fixSys() {
  if (sysWritable()) return;
  const MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32;
  try {
    if (lib().mount(null, '/sys', null, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, null) !== 0) {
      warn(`cannot remount /sys read-write (errno ${require('koffi').errno()}); bridge port settings (hairpin_mode) will fail`);
    }
  } catch (e) {
    warn(`cannot remount /sys read-write: ${e && e.message}`);
  }
}

function fixProcSys() {
  if (procSysWritable()) return;
  try {
    const MNT_DETACH = 2;
    for (let i = 0; i < 4 && !procSysWritable(); i++) {
      if (lib().umount2('/proc/sys', MNT_DETACH) !== 0) break;
    }
  } catch (e) {
    warn(`cannot make /proc/sys writable: ${e && e.message}`);
  }
  if (!procSysWritable()) warn('/proc/sys is read-only; sysctl writes (ip_forward, route_localnet) will fail');
}

/** Same rule as driver/src/state/peers.ts. */
function peerStateDir(args, environFile) {
  const script = args.find((a, i) => i > 0 && a.endsWith('.js'));
  if (!script) return undefined;
  const isDriver = /driver[\\/]dist[\\/]main\.js$/.test(script) || (script.endsWith('main.js') && args.includes('--state-dir') && args.includes('--socket'));
  if (!isDriver) return undefined;
  const i = args.indexOf('--state-dir');
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith('--state-dir='));
  if (eq) return eq.slice('--state-dir='.length);
  try {
    const line = fs.readFileSync(environFile, 'utf8').split('\0').find((l) => l.startsWith('TSNET_STATE_DIR='));
    if (line) return line.slice('TSNET_STATE_DIR='.length);
  } catch {
    /* environ unreadable: default below */
  }
  return '/var/lib/tsnet';
}

function linkPeerStores() {
  const own = path.resolve(process.env.TSNET_STATE_DIR || '/var/lib/tsnet');
  let entries;
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid);
  } catch {
    return;
  }
  for (const e of entries) {
    let args;
    try {
      args = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
    } catch {
      continue;
    }
    const dir = peerStateDir(args, `/proc/${e}/environ`);
    if (!dir || !path.isAbsolute(dir)) continue;
    const target = path.resolve(dir);
    if (target === own || target === '/' ) continue;
    const source = `/proc/${e}/root${target}`;
    try {
      if (!fs.statSync(source).isDirectory()) continue;
      // A symlink through /proc/PID/root (a bind mount across mount namespaces is refused).
      try {
        const st = fs.lstatSync(target);
        if (st.isSymbolicLink()) fs.unlinkSync(target);
        else if (st.isDirectory() && fs.readdirSync(target).length === 0) fs.rmdirSync(target);
        else continue;
      } catch {
        /* absent */
      }
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.symlinkSync(source, target);
    } catch (err) {
      warn(`cannot see the store of tsnet driver pid ${e} (${target}): ${err && err.message}`);
    }
  }
}

// -r preloads run again in every worker thread: only the main thread does this.
if (require('node:worker_threads').isMainThread) {
  fixProcSys();
  fixSys();
  linkPeerStores();
}
