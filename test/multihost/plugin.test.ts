/**
 * The managed plugin on every host of the harness (issue 16: "the managed plugin on each host,
 * configured with `docker plugin set`, passes the cross-host ping test"). The plugin is built
 * once with this machine's dockerd from a local base image (no registry), created on each host's
 * own engine with `docker plugin create`, configured with `docker plugin set` and enabled in
 * place of the host-process driver, which is started again afterwards.
 */
import * as assert from 'node:assert/strict';
import { docker, eventually, harness, harnessSlow, hostIp, HOSTS, IMAGE, ipOf, sh } from './env';

const all = Array.from({ length: HOSTS }, (_, k) => k + 1);
const PLUGIN = 'tsnet:latest';
const NET = 'plugnet';
const ETCD = 'http://172.30.250.1:2379';
const statusSocket = (i: number) => `/run/tsnet-mh-${i}/status.sock`;

async function pluginStatus(i: number): Promise<{ cluster: { self: string; hosts: { address: string }[]; etcd: { healthy: boolean } } }> {
  return JSON.parse(await sh('curl', ['-s', '--unix-socket', statusSocket(i), 'http://x/status']));
}

describe('multi-host networks with the managed plugin on each host (docker plugin set)', function () {
  this.timeout(600_000);

  before(async () => {
    const dir = (await harnessSlow('plugin-dir')).trim().split('\n').at(-1)!;
    for (const i of all) {
      await harness('stop-driver', String(i));
      // The plugin must make the VXLAN link itself (in its cluster kernel worker), not inherit it.
      await sh('ip', ['-n', `mh-${i}`, 'link', 'del', 'tsnet-vx']).catch(() => undefined);
      await docker(i, 'plugin', 'create', PLUGIN, dir);
      // Host 1 names its underlay address; hosts 2 and 3 find it from their default route.
      const address = i === 1 ? [`TSNET_HOST_ADDRESS=${hostIp(i)}`] : [];
      await docker(i, 'plugin', 'set', PLUGIN, `TSNET_ETCD=${ETCD}`, ...address, `TSNET_STATE_DIR=/var/lib/tsnet-mh-${i}`, `TSNET_STATUS_SOCKET=${statusSocket(i)}`, 'TSNET_ETCD_TIMEOUT_MS=8000');
      await docker(i, 'plugin', 'enable', PLUGIN);
    }
  });

  it('is configured through docker plugin set', async () => {
    const env = await docker(1, 'plugin', 'inspect', '-f', '{{json .Settings.Env}}', PLUGIN);
    assert.ok(JSON.parse(env).includes(`TSNET_ETCD=${ETCD}`), env);
    for (const i of all) {
      const st = await pluginStatus(i);
      assert.equal(st.cluster.self, hostIp(i), `host ${i}'s plugin found its underlay address`);
      assert.match(await sh('ip', ['-n', `mh-${i}`, '-d', 'link', 'show', 'tsnet-vx']), /vxlan id 7476 local 172\.30\.250\.\d+ .*dstport 8472/, `host ${i}'s plugin made tsnet-vx`);
    }
  });

  it('creates the network with the issue\'s command on each host, and containers on all three hosts ping each other', async () => {
    const ips: Record<number, string> = {};
    try {
      for (const i of all) {
        // The command, with the managed plugin's driver name: its reference NAME:TAG.
        await docker(i, 'network', 'create', '-d', PLUGIN, '--ipam-driver', PLUGIN, '--subnet', '10.60.0.0/16', '-o', `tsnet.cluster=${NET}`, NET);
        await docker(i, 'run', '-d', '--name', `p${i}`, '--network', NET, IMAGE, 'sleep', '600');
        ips[i] = await ipOf(i, `p${i}`, NET);
      }
      assert.equal(new Set(Object.values(ips)).size, HOSTS, JSON.stringify(ips));
      const hosts = (await pluginStatus(1)).cluster.hosts.map((h) => h.address).sort();
      assert.deepEqual(hosts, all.map(hostIp));
      assert.equal((await docker(1, 'network', 'inspect', '-f', '{{.Driver}} {{.IPAM.Driver}}', NET)).trim(), `${PLUGIN} ${PLUGIN}`);
      for (const a of all) {
        for (const b of all) {
          if (a === b) continue;
          // p3's block was announced last: give the etcd watch on the other hosts time to route it.
          await eventually(`p${a} (host ${a}) pings ${ips[b]} (host ${b})`, async () => {
            await docker(a, 'exec', `p${a}`, 'ping', '-c', '2', '-W', '2', ips[b]);
            return true;
          }, 15_000, 500);
        }
      }
      // The plugin programs the fast path too: its counters grew with the pings (docs/multi-host.md).
      const fast = await sh('ip', ['netns', 'exec', 'mh-1', 'nft', 'list', 'table', 'netdev', 'tsnet-fast']);
      assert.match(fast, /counter packets [1-9]\d* bytes \d+ fwd ip to ip daddr map @remote4 device "tsnet-vx"/, fast);
      assert.match(fast, /counter packets [1-9]\d* bytes \d+ fwd ip to ip daddr device "tsn-/, fast);
    } finally {
      for (const i of all) {
        await docker(i, 'rm', '-f', `p${i}`).catch(() => undefined);
        await docker(i, 'network', 'rm', NET).catch(() => undefined);
      }
    }
  });

  after(async () => {
    if (process.env.TSNET_MH_KEEP) return;
    await harness('plugin-clean');
    for (const i of all) await harness('restart-driver', String(i));
  });
});
