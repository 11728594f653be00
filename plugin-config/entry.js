'use strict';
/*
 * Entrypoint of the tsnet managed plugin (copied to /opt/tsnet/plugin-entry.js).
 *
 * Docker starts every managed plugin with its default OCI spec, which mounts /proc/sys
 * read-only (ReadonlyPaths). The plugin runs in the host network namespace and the driver must
 * write host network sysctls (net.ipv4.ip_forward, per-bridge route_localnet, IPv6 forwarding),
 * so that read-only overlay is detached here, in the plugin's own mount namespace only (the
 * host's mounts are untouched). This needs CAP_SYS_ADMIN, which the plugin holds anyway to
 * setns() into container network namespaces. Then the driver starts as usual; its flags and
 * TSNET_* environment variables are passed through unchanged.
 */
const fs = require('node:fs');

function procSysWritable() {
  try {
    fs.accessSync('/proc/sys/net/ipv4/ip_forward', fs.constants.W_OK);
    return true;
  } catch (e) {
    return e.code !== 'EROFS';
  }
}

if (!procSysWritable()) {
  try {
    const koffi = require('koffi');
    const umount2 = koffi.load('libc.so.6').func('int umount2(const char *target, int flags)');
    const MNT_DETACH = 2;
    // Bind mounts can be stacked; a few rounds at most.
    for (let i = 0; i < 4 && !procSysWritable(); i++) {
      if (umount2('/proc/sys', MNT_DETACH) !== 0) break;
    }
  } catch (e) {
    process.stderr.write(`tsnet plugin: cannot make /proc/sys writable: ${e && e.message}\n`);
  }
  if (!procSysWritable()) {
    process.stderr.write('tsnet plugin: /proc/sys is read-only; sysctl writes (ip_forward, route_localnet) will fail\n');
  }
}

require('./driver/dist/main.js');
