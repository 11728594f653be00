'use strict';
/*
 * Preloaded into the tsnet managed plugin's driver process:
 *   node -r /opt/tsnet/plugin-preload.cjs /opt/tsnet/driver/dist/main.js
 * Runs in the plugin's own mount
 * namespace only; the host's mounts are never changed. Needs CAP_SYS_ADMIN (held anyway for
 * setns).
 *
 * 1. Docker's default OCI spec mounts /proc/sys read-only in every plugin. The plugin runs in the
 *    host network namespace and the driver writes host network sysctls (net.ipv4.ip_forward,
 *    per-bridge route_localnet, IPv6 forwarding): the read-only overlay is detached.
 *    Likewise /sys (sysfs, read-only by default): the driver writes bridge-port attributes
 *    such as /sys/class/net/IF/brport/hairpin_mode; it is remounted read-write.
 */
const fs = require('node:fs');

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


// -r preloads run again in every worker thread: only the main thread does this.
if (require('node:worker_threads').isMainThread) {
  fixProcSys();
  fixSys();
}
