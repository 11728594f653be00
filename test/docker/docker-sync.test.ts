/** A network removed from Docker while the driver was down loses its bridge and rules at the next start. */
import { strict as assert } from 'node:assert';
import { bridgeName } from '@tsnet/shared';
import { DRIVER_NAME, EXTERNAL_DRIVER, Scenario, docker, freeSubnet, getStatus, linkExists, sh, sleep } from '../helpers/docker';
import { driver } from './env';

describe('networks removed while the driver was down', function () {
  this.timeout(120_000);
  const s = new Scenario();
  afterEach(async () => {
    if (!EXTERNAL_DRIVER && (driver.proc?.exitCode !== null || driver.proc?.signalCode !== null)) await driver.start();
    s.cleanup();
  });

  before(() => {
    // It stops and starts the driver process; scripts/test-plugin.sh leaves this file out.
    if (EXTERNAL_DRIVER) throw new Error('this test needs the host-process driver; run it without TSNET_EXTERNAL_DRIVER=1');
  });

  it('are removed from the kernel and the store shortly after the next start', async () => {
    const net = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const id = s.networkId(net);
    const br = bridgeName(id);
    assert.ok(linkExists(br));
    await driver.stop();
    try {
      docker(['network', 'rm', net], { timeoutMs: 60_000 });
    } catch {
      /* dockerd may report the unreachable driver; it removes the network anyway */
    }
    assert.equal(docker(['network', 'ls', '-q', '--filter', `id=${id}`]), '', 'Docker forgot the network');
    await driver.start();
    const deadline = Date.now() + 20_000;
    while (linkExists(br) && Date.now() < deadline) await sleep(250);
    assert.equal(linkExists(br), false, `bridge ${br} is still there`);
    const status = await getStatus(driver.statusSocket);
    assert.ok(!status.networks.some((n) => n.id === id), 'the store forgot it too');
    assert.ok(!sh('nft', ['list', 'table', 'inet', 'tsnet']).includes(br), 'no rule names the bridge');
  });
});
