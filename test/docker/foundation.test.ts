/** Issue 2's slice: a tsnet network whose containers reach each other, and that leaves nothing behind. */
import { strict as assert } from 'node:assert';
import { bridgeName, vethHostName } from '@tsnet/shared';
import { DRIVER_NAME, Scenario, docker, dockerFails, freeSubnet, linkExists, sh, startHttpd, httpFrom } from '../helpers/docker';

describe('foundation: a tsnet network', function () {
  this.timeout(120_000);
  const s = new Scenario();
  afterEach(() => s.cleanup());

  it('creates a bridge with the gateway address from IPAM, up', () => {
    const sub = freeSubnet();
    const net = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const br = bridgeName(s.networkId(net));
    const info = sh('ip', ['-d', 'addr', 'show', 'dev', br]);
    assert.match(info, /bridge/);
    assert.match(info, new RegExp(`inet ${sub.gw4.replace(/\./g, '\\.')}/24`));
    assert.match(sh('ip', ['-o', 'link', 'show', 'dev', br]), /state (UP|UNKNOWN|DOWN)/);
    assert.match(sh('ip', ['-o', 'link', 'show', 'dev', br]), /<[^>]*\bUP\b/);
  });

  it('lets two containers ping each other and open TCP both ways (FORWARD DROP and bridge-nf-call-iptables on)', () => {
    assert.equal(sh('sysctl', ['-n', 'net.bridge.bridge-nf-call-iptables']), '1');
    assert.match(sh('iptables', ['-S', 'FORWARD']), /-P FORWARD DROP/);
    const sub = freeSubnet();
    const net = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const a = s.run(['--network', net]);
    const b = s.run(['--network', net]);
    const ipA = s.ip(a, net);
    const ipB = s.ip(b, net);
    assert.ok(ipA.startsWith(`10.231.${sub.n}.`), `a got ${ipA}`);
    assert.match(s.exec(a, ['ping', '-c', '2', '-W', '2', ipB]), /2 packets received/);
    assert.match(s.exec(b, ['ping', '-c', '2', '-W', '2', ipA]), /2 packets received/);
    startHttpd(s, a, 8080);
    startHttpd(s, b, 8080);
    assert.match(httpFrom(s, a, ipB, 8080), /tsnet test page/);
    assert.match(httpFrom(s, b, ipA, 8080), /tsnet test page/);
    // The gateway answers too.
    assert.match(s.exec(a, ['ping', '-c', '1', '-W', '2', sub.gw4]), /1 packets received/);
    // eth0 inside, with Docker's address and a default route via the gateway.
    assert.match(s.exec(a, ['ip', 'addr', 'show', 'eth0']), new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/24`));
    assert.match(s.exec(a, ['ip', 'route']), new RegExp(`default via ${sub.gw4.replace(/\./g, '\\.')}`));
  });

  it('leaves no bridge, veth or firewall rule behind after the containers and the network are removed', () => {
    const sub = freeSubnet();
    const net = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const br = bridgeName(s.networkId(net));
    s.run(['--network', net]);
    s.run(['--network', net]);
    const endpoints = docker(['network', 'inspect', '-f', '{{range .Containers}}{{.EndpointID}} {{end}}', net]).split(' ').filter(Boolean);
    assert.equal(endpoints.length, 2);
    const veths = endpoints.map(vethHostName);
    for (const v of veths) assert.match(sh('ip', ['-o', 'link', 'show', 'dev', v]), new RegExp(`master ${br}`), `${v} is on ${br}`);
    assert.ok(sh('nft', ['list', 'table', 'inet', 'tsnet']).includes(br), 'the tsnet table names the bridge');
    assert.match(sh('iptables', ['-S', 'DOCKER-USER']), new RegExp(`-i ${br} .*-j ACCEPT`));
    s.cleanup();
    assert.equal(linkExists(br), false, `bridge ${br} still exists`);
    for (const v of veths) assert.equal(linkExists(v), false, `veth ${v} still exists`);
    assert.ok(!sh('nft', ['list', 'table', 'inet', 'tsnet']).includes(br), 'rules for the bridge remain in the tsnet table');
    assert.ok(!sh('iptables', ['-S', 'DOCKER-USER']).includes(br), 'DOCKER-USER still names the bridge');
  });

  it('refuses bad options with an error naming the option and what is accepted', () => {
    const sub = freeSubnet();
    const name = s.name('bad');
    const err = dockerFails(['network', 'create', '-d', DRIVER_NAME, '--subnet', sub.v4, '-o', 'tsnet.nonsense=1', name]);
    assert.match(err, /unknown option "tsnet\.nonsense"/);
    assert.match(err, /tsnet accepts: /);
    const err2 = dockerFails(['network', 'create', '-d', DRIVER_NAME, '--subnet', sub.v4, '-o', 'com.docker.network.driver.mtu=12', name]);
    assert.match(err2, /com\.docker\.network\.driver\.mtu.*"12".*68 to 65535/);
    assert.equal(docker(['network', 'ls', '-q', '--filter', `name=^${name}$`]), '');
  });
});
