/**
 * The managed plugin's preload (plugin-config/preload.cjs) in a private mount namespace made to
 * look like Docker's plugin spec (/proc/sys and /sys read-only): afterwards only the network parts
 * are writable, and no thread of the process holds a capability beyond NET_ADMIN, NET_RAW, CHOWN.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const PRELOAD = path.join(REPO, 'plugin-config', 'preload.cjs');
/** CAP_CHOWN (0), CAP_NET_ADMIN (12), CAP_NET_RAW (13). */
const KEPT = (1n << 0n) | (1n << 12n) | (1n << 13n);

const PROBE = `
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const w = (p) => { try { fs.accessSync(p, fs.constants.W_OK); return 'rw'; } catch (e) { return e.code; } };
const caps = (file) => Object.fromEntries(fs.readFileSync(file, 'utf8').split('\\n').filter((l) => /^Cap(Inh|Prm|Eff|Bnd|Amb):/.test(l)).map((l) => l.split(/:\\s+/)));
const worker = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:fs').readFileSync('/proc/thread-self/status', 'utf8'))", { eval: true });
worker.once('message', (status) => {
  const tasks = fs.readdirSync('/proc/self/task').map((t) => caps('/proc/self/task/' + t + '/status'));
  process.stdout.write(JSON.stringify({
    pid: process.pid,
    env: process.env.TSNET_PLUGIN_PRIVILEGES_DROPPED ?? null,
    access: Object.fromEntries(['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv4/conf/lo/route_localnet', '/proc/sys/kernel/core_pattern', '/proc/sys/kernel/hostname', '/proc/sys/vm/overcommit_memory', '/sys/class/net/lo/mtu', '/sys/devices/virtual/net', '/sys/kernel', '/sys/power'].map((p) => [p, w(p)])),
    tasks,
    worker: Object.fromEntries(status.split('\\n').filter((l) => /^Cap(Prm|Eff|Bnd):/.test(l)).map((l) => l.split(/:\\s+/))),
  }));
  process.exit(0);
});
`;

describe('managed plugin preload: only net sysctls writable (all of /sys read-only), privileges dropped', function () {
  this.timeout(60_000);
  let tmp: string;
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('missing prerequisite: this test makes a mount namespace and needs root');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tst-preload-'));
    fs.writeFileSync(path.join(tmp, 'probe.js'), PROBE);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('in a namespace with Docker\'s read-only /proc/sys and /sys', function () {
    // What Docker's default spec does to a plugin: /proc/sys and /sys read-only (mount flags only,
    // in this private mount namespace; the host's mounts are untouched).
    const setup = 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && mount --bind /sys /sys && mount -o remount,bind,ro /sys';
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${setup} && exec "$0" -r "$1" "$2"`, process.execPath, PRELOAD, path.join(tmp, 'probe.js')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `probe failed: ${r.stderr}`);
    assert.equal(r.stderr, '', 'the preload warned');
    const out = JSON.parse(r.stdout) as { env: string | null; access: Record<string, string>; tasks: Record<string, string>[]; worker: Record<string, string> };
    assert.deepEqual(out.access, {
      '/proc/sys/net/ipv4/ip_forward': 'rw',
      '/proc/sys/net/ipv4/conf/lo/route_localnet': 'rw',
      '/proc/sys/kernel/core_pattern': 'EROFS',
      '/proc/sys/kernel/hostname': 'EROFS',
      '/proc/sys/vm/overcommit_memory': 'EROFS',
      '/sys/class/net/lo/mtu': 'EROFS',
      '/sys/devices/virtual/net': 'EROFS',
      '/sys/kernel': 'EROFS',
      '/sys/power': 'EROFS',
    });
    assert.equal(out.env, null, 'the re-exec marker is not left in the driver\'s environment');
    assert.ok(out.tasks.length >= 2, 'node runs several threads');
    for (const t of [...out.tasks, out.worker]) {
      for (const set of ['CapPrm', 'CapEff', 'CapBnd']) assert.equal(BigInt(`0x${t[set]}`), KEPT, `${set} of a thread is ${t[set]}: ${JSON.stringify(t)}`);
    }
    for (const t of out.tasks) {
      assert.equal(BigInt(`0x${t.CapInh}`) & ~KEPT, 0n);
      assert.equal(BigInt(`0x${t.CapAmb}`), 0n);
    }
  });

  it('the host\'s /proc/sys and /sys are left as they were', function () {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    for (const m of ['/proc/sys/net', '/sys/devices/virtual/net']) assert.ok(!mounts.some((l) => l.split(' ')[4] === m), `${m} became a mount point on the host`);
    fs.accessSync('/proc/sys/kernel/core_pattern', fs.constants.W_OK);
  });
});
