/**
 * DeleteEndpoint answers before the kernel takes the veth out of use and deletes it, and before
 * its journal line is on disk. A kill -9 in that window must leak nothing and touch nothing else:
 * after the restart the veth is gone, the other container of the network keeps its veth, its
 * bridge port and its traffic. A host crash in that window may lose the journal line and the
 * endpoint file's removal (not fsync'd yet) along with every kernel object: the restarted driver
 * then finds the endpoint's record, and docker-sync removes it because Docker no longer has it,
 * so its address can be given again. A container given the address (and so the MAC) of one whose
 * veth waits for deletion gets a working port: the old one is off the bridge first. A driver of
 * its own (named tsnettestdefer) runs with the test hook that holds each deletion back, so the
 * kill lands in the window every time.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { bridgeName, vethHostName, vethRetiredName } from '@tsnet/shared';
import { DriverProcess, Scenario, docker, freeSubnet, getStatus, linkExists, sh, sleep } from '../helpers/docker';

const HOLD_MS = 4000;
const HOLD = { TSNET_TEST_HOOKS: '1', TSNET_TEST_VETH_DELETE_DELAY_MS: String(HOLD_MS) };

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

  it('a container given the address of one whose veth waits for deletion: the old veth is off the bridge before the new one is up, and the new container reaches its gateway', async () => {
    await drv.stop();
    await drv.start(HOLD);
    const sub = freeSubnet();
    const net = s.network(['-d', drv.name, '--subnet', sub.v4, '--gateway', sub.gw4]);
    const bridge = bridgeName(s.networkId(net));
    const ip = `10.231.${sub.n}.50`;
    const first = s.run(['--network', net, '--ip', ip]);
    const firstVeth = vethHostName(endpointOf(first, net));
    docker(['rm', '-f', first], { timeoutMs: 60_000 });
    s.containers.splice(s.containers.indexOf(first), 1);
    const second = s.run(['--network', net, '--ip', ip]);
    const secondVeth = vethHostName(endpointOf(second, net));
    assert.ok(linkExists(firstVeth), `${firstVeth} still exists (its deletion is held back ${HOLD_MS} ms): the check below looks at the window`);
    assert.deepEqual(ports(bridge), [secondVeth], 'the removed container\'s veth (same address, same MAC) left the bridge before the new one was made');
    assert.ok(s.execOk(second, ['ping', '-c', '1', '-W', '2', sub.gw4]), 'the new container reaches its gateway');
  });

  it('a host crash before the removal reached the disk: docker-sync removes the endpoint Docker no longer has, and its address can be given again', async () => {
    await drv.stop();
    await drv.start(HOLD);
    const sub = freeSubnet();
    const net = s.network(['-d', drv.name, '--subnet', sub.v4, '--gateway', sub.gw4]);
    const bridge = bridgeName(s.networkId(net));
    const ip = `10.231.${sub.n}.60`;
    const gone = s.run(['--network', net, '--ip', ip]);
    const kept = s.run(['--network', net]);
    const goneId = endpointOf(gone, net);
    const goneVeth = vethHostName(goneId);
    const keptVeth = vethHostName(endpointOf(kept, net));
    // What the disk holds before the removal: a host crash right after DeleteEndpoint's answer
    // may lose everything written since (the journal line, the endpoint file's removal).
    const onDisk = `${drv.stateDir}.before-rm`;
    fs.rmSync(onDisk, { recursive: true, force: true });
    fs.cpSync(drv.stateDir, onDisk, { recursive: true });
    try {
      docker(['rm', '-f', gone], { timeoutMs: 60_000 });
      s.containers.splice(s.containers.indexOf(gone), 1);
      drv.proc!.kill('SIGKILL');
      await new Promise((r) => drv.proc!.once('exit', r));
      // The crash: the page cache is lost (the state directory as it was on disk), and so is every kernel object the reboot takes.
      fs.rmSync(drv.stateDir, { recursive: true, force: true });
      fs.cpSync(onDisk, drv.stateDir, { recursive: true });
      assert.ok(fs.existsSync(`${drv.stateDir}/endpoints/${goneId}.json`), 'the removed endpoint\'s file is back (the crash lost its removal)');
      sh('ip', ['link', 'del', goneVeth]);
    } finally {
      fs.rmSync(onDisk, { recursive: true, force: true });
    }
    await drv.start(); // no hook now
    let endpoints: string[] = [];
    for (let i = 0; i < 100; i++) {
      const status = await getStatus(drv.statusSocket);
      endpoints = status.networks.find((n) => n.bridge === bridge)?.endpoints.map((e) => e.hostVeth) ?? [];
      if (!endpoints.includes(goneVeth)) break;
      await sleep(100);
    }
    assert.deepEqual(endpoints, [keptVeth], 'docker-sync removed the endpoint Docker no longer has; the other one is kept');
    for (let i = 0; i < 50 && linkExists(goneVeth); i++) await sleep(100);
    assert.ok(!linkExists(goneVeth), `${goneVeth} is not there`);
    const again = s.run(['--network', net, '--ip', ip]);
    assert.ok(s.execOk(again, ['ping', '-c', '1', '-W', '2', sub.gw4]), 'a new container with the freed address reaches its gateway');
    assert.ok(s.execOk(kept, ['ping', '-c', '1', '-W', '2', sub.gw4]), 'the other container still reaches its gateway');
  });

  function endpointOf(c: string, net: string): string {
    return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").EndpointID}}`, c]);
  }

  function ports(bridge: string): string[] {
    return sh('ip', ['-o', 'link', 'show', 'master', bridge]).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]).filter(Boolean).sort();
  }

  async function scenario(): Promise<void> {
    await drv.stop();
    await drv.start(HOLD);
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
    assert.ok(linkExists(goneVeth), `${goneVeth} must still exist when the driver dies (the deletion was held back ${HOLD_MS} ms)`);

    await drv.start(); // no hook now
    for (let i = 0; i < 50 && linkExists(goneVeth); i++) await sleep(100);
    assert.ok(!linkExists(goneVeth) && !linkExists(vethRetiredName(goneVeth)), `${goneVeth} survived the restart`);
    assert.ok(!linkExists(`tsc${goneVeth.slice(3)}`), 'its container-side end survived the restart');
    assert.deepEqual(portsOf(), [keptVeth], 'the other container keeps its bridge port, and nothing else is on the bridge');
    const rulesAfter = sh('nft', ['list', 'table', 'inet', 'tsnet']).split('\n').filter((l) => l.includes(bridge)).sort();
    assert.deepEqual(rulesAfter, rulesBefore, 'the network\'s firewall rules are untouched');
    assert.ok(s.execOk(kept, ['ping', '-c', '1', '-W', '2', sub.gw4]), 'the other container still reaches its gateway');
    const status = await getStatus(drv.statusSocket);
    assert.deepEqual(status.networks.find((n) => n.bridge === bridge)?.endpoints.map((e) => e.hostVeth), [keptVeth], 'the driver knows only the kept endpoint');
  }
});
