/**
 * Issue 13 item 4, firewall: on an iptables-legacy host the DOCKER-USER accepts of a bridge go
 * in only after its nftables rules were planned and applied, so a refused network leaves no
 * accept behind. A test namespace with a legacy filter table and a DOCKER-USER chain stands for
 * such a host.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createFirewall, type TsnetFirewall } from '@tsnet/driver/dist/firewall';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

describe('firewall on an iptables-legacy host: no DOCKER-USER accept before the nftables rules (kernel, test namespace)', function () {
  this.timeout(60_000);
  let ns: TestNetns;
  let fw: TsnetFirewall;
  const dockerUser = () => execFileSync('ip', ['netns', 'exec', ns.name, 'iptables-legacy', '-S', 'DOCKER-USER'], { encoding: 'utf8' });

  before(async () => {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    let legacy = false;
    try {
      execFileSync('iptables-legacy', ['--version'], { stdio: 'ignore' });
      legacy = true;
    } catch {
      /* reported below */
    }
    requirePrerequisite(legacy, 'iptables-legacy', 'apt-get install -y iptables');
    ns = createNetns('legacy');
    execFileSync('ip', ['netns', 'exec', ns.name, 'iptables-legacy', '-N', 'DOCKER-USER']);
    fw = createFirewall({ netnsPath: ns.path, log: () => undefined });
    await fw.init();
  });
  after(async () => {
    await fw?.removeAll().catch(() => undefined);
    await fw?.close();
    if (ns) {
      execFileSync('ip', ['netns', 'exec', ns.name, 'sh', '-c', 'iptables-legacy -F DOCKER-USER; iptables-legacy -X DOCKER-USER'], { stdio: 'ignore' });
      ns.cleanup();
    }
  });

  it('detects the legacy backend', () => {
    assert.equal(fw.backend, 'iptables-legacy');
  });

  it('a network whose rules are refused leaves no accept in DOCKER-USER; a good one gets both, and removal takes them', async () => {
    const bad = { id: 'n-bad', bridge: 'tsn-legacybad', subnets: [{ family: 4 as const, cidr: '10.231.243.0/33', gateway: '10.231.243.1' }], icc: true, masquerade: true, internal: false };
    await assert.rejects(fw.applyNetwork(bad), /invalid|CIDR|subnet/i);
    assert.doesNotMatch(dockerUser(), /tsn-legacybad/, 'an accept was inserted for a refused network');
    assert.deepEqual(await fw.listProgrammedBridges(), []);

    const good = { ...bad, id: 'n-good', bridge: 'tsn-legacyok', subnets: [{ family: 4 as const, cidr: '10.231.243.0/24', gateway: '10.231.243.1' }] };
    await fw.applyNetwork(good);
    assert.match(dockerUser(), /-A DOCKER-USER -i tsn-legacyok -j ACCEPT/);
    assert.match(dockerUser(), /-A DOCKER-USER -o tsn-legacyok -j ACCEPT/);
    await fw.removeNetwork(good);
    assert.doesNotMatch(dockerUser(), /tsn-legacyok/);
  });
});
