/** Kernel parameters under /proc/sys, written directly (no `sysctl` process). */
import * as fs from 'node:fs';

// Writes are synchronous on purpose: /proc and /sys writes take microseconds, while each trip
// through libuv's thread pool (open, write, close) costs far more under load.

export async function writeSysctl(key: string, value: string): Promise<void> {
  fs.writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
}

export async function readSysctl(key: string): Promise<string | undefined> {
  try {
    return (await fs.promises.readFile(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Interface-scoped key; interface names may contain dots, which sysctl paths keep as-is. */
export async function writeInterfaceSysctl(family: 'ipv4' | 'ipv6', ifname: string, key: string, value: string): Promise<void> {
  fs.writeFileSync(`/proc/sys/net/${family}/conf/${ifname}/${key}`, value);
}
