/**
 * DeleteEndpoint answers before the kernel deletes the veth. A kill -9 in that window must leak
 * nothing and touch nothing else: after the restart the veth is gone, the other container of the
 * network keeps its veth, its bridge port and its traffic. A driver of its own (named
 * tsnettestdefer) runs with the test hook that holds each deletion back, so the kill lands in
 * the window every time.
 */
import { strict as assert } from 'node:assert';
import { bridgeName, vethHostName, vethRetiredName } from '@tsnet/shared';
import { DriverProcess, Scenario, docker, freeSubnet, getStatus, linkExists, sh, sleep } from '../helpers/docker';

const HOLD_MS = 4000;

describe('durability: kill -9 between DeleteEndpoint\'s reply and the veth deletion', function () {
  this.timeout(180_000);
  const drv = new DriverProcess('tsnettestdefer');
  const s = new Scenario();

  after(async function () {
    this.timeout(120_000);
    if (drv.proc?.exitCode !== null || drv.proc?.signalCode !== null) await drv.start().catch(() => undefined);
    s.cleanup();
    await drv.stop();
    drv.removeState();
  });

  it('leaves no veth behind after the restart and leaves the rest of the network as it was', async () => {
    try {
      await scenario();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- driver log (tail) ---\n${drv.log.slice(-6000)}`);
    }
  });

  async function scenario(): Promise<void> {
    await drv.start({ TSNET_TEST_HOOKS: '1', TSNET_TEST_VETH_DELETE_DELAY_MS: String(HOLD_MS) });
    const sub = freeSubnet();
    const net = s.network(['-d', drv.name, '--subnet', sub.v4, '--gateway', sub.gw4]);
    const bridge = bridgeName(s.networkId(net));
    const gone = s.run(['--network', net]);
    const kept = s.run(['--network', net]);
    const endpointOf = (c: string) => docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, c]);
    const goneVeth = vethHostName(endpointOf(gone));
    const keptVeth = vethHostName(endpointOf(kept));
    const portsOf = () => sh('ip', ['-o', 'link', 'show', 'master', bridge]).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter(Boolean).sort();
    const rulesBefore = sh('nft', ['list', 'table', 'inet', 'tsnet']).split('\n').filter((l) => l.includes(bridge)).sort();
    assert.deepEqual(portsOf(), [goneVeth, keptVeth].sort());

    const t0 = Date.now();
    docker(['rm', '-f', gone], { timeoutMs: 60_000 });
    s.containers.splice(s.containers.indexOf(gone), 1);
    drv.proc!.kill('SIGKILL');
    await new Promise((r) => drv.proc!.once('exit', r));
    assert.ok(Date.now() - t0 < HOLD_MS, `docker rm took ${Date.now() - t0} ms: the kill came after the held-back deletion could have run`);
    const retired = vethRetiredName(goneVeth);
    assert.ok(!linkExists(goneVeth), `${goneVeth} must be out of use when DeleteEndpoint answered`);
    assert.ok(linkExists(retired), `${retired} (the veth, retired) must still exist when the driver dies (the deletion was held back ${HOLD_MS} ms)`);
    assert.deepEqual(portsOf(), [keptVeth], 'the removed veth left the bridge before the answer');

    await drv.start(); // no hook now
    for (let i = 0; i < 50 && linkExists(retired); i++) await sleep(100);
    assert.ok(!linkExists(retired) && !linkExists(goneVeth), `${retired} survived the restart`);
    assert.ok(!linkExists(`tsc${goneVeth.slice(3)}`), 'its container-side end survived the restart');
    assert.deepEqual(portsOf(), [keptVeth], 'the other container keeps its bridge port, and nothing else is on the bridge');
    const rulesAfter = sh('nft', ['list', 'table', 'inet', 'tsnet']).split('\n').filter((l) => l.includes(bridge)).sort();
    assert.deepEqual(rulesAfter, rulesBefore, 'the network\'s firewall rules are untouched');
    assert.ok(s.execOk(kept, ['ping', '-c', '1', '-W', '2', sub.gw4]), 'the other container still reaches its gateway');
    const status = await getStatus(drv.statusSocket);
    assert.deepEqual(status.networks.find((n) => n.bridge === bridge)?.endpoints.map((e) => e.hostVeth), [keptVeth], 'the driver knows only the kept endpoint');
  }
});
