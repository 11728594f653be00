import * as assert from 'assert';
import { parseAliases, splitCommand, validateImage, validateStaticIp } from '../../commands/container-form';
import { buildCreateNetworkBody, parseKeyValues, previewTsnetRejection, validateBridgeName, validateDriverOptions, validateGateway, validateIpRange, validateMtu, validateNetworkName, validateSubnet } from '../../commands/network-form';
import { dockerErrorMessage } from '../../docker/errors';
import { isHttpPort, portUrl } from '../../docker/port-links';
import type { NetworkModel } from '../../docker/model-types';

const existing = [
  { name: 'app', subnets: [{ family: 4, subnet: '10.231.1.0/24', gateway: '10.231.1.1' }] },
  { name: 'v6', subnets: [{ family: 6, subnet: 'fd00:231:2::/64' }] },
] as NetworkModel[];

describe('create-network input validation (as the user types)', () => {
  it('name: required, Docker\'s characters, not taken', () => {
    assert.match(validateNetworkName('', [])!, /Enter a name/);
    assert.match(validateNetworkName('-x', [])!, /not a valid name/);
    assert.match(validateNetworkName('a b', [])!, /not a valid name/);
    assert.match(validateNetworkName('app', ['app'])!, /already exists/);
    assert.strictEqual(validateNetworkName('tstx-net_1.a', ['app']), undefined);
  });

  it('subnet: optional, a prefix of the right family without host bits, not overlapping', () => {
    assert.strictEqual(validateSubnet('', 4, existing), undefined);
    assert.match(validateSubnet('', 6, existing, false)!, /Enter an IPv6 subnet/);
    assert.match(validateSubnet('10.0.0', 4, existing)!, /is not a subnet/);
    assert.match(validateSubnet('10.0.0.0/33', 4, existing)!, /is not a subnet/);
    assert.match(validateSubnet('fd00::/64', 4, existing)!, /IPv6 subnet; this field takes IPv4/);
    assert.match(validateSubnet('10.9.0.5/24', 4, existing)!, /host bits set; the subnet is 10\.9\.0\.0\/24/);
    assert.match(validateSubnet('10.9.0.0/31', 4, existing)!, /too small/);
    assert.match(validateSubnet('10.231.0.0/16', 4, existing)!, /overlaps 10\.231\.1\.0\/24 of network "app"/);
    assert.match(validateSubnet('fd00:231:2:0:1::/80', 6, existing)!, /overlaps fd00:231:2::\/64 of network "v6"/);
    assert.strictEqual(validateSubnet('10.232.0.0/24', 4, existing), undefined);
    assert.strictEqual(validateSubnet('fd00:232::/64', 6, existing), undefined);
  });

  it('gateway: a host address inside the subnet', () => {
    assert.strictEqual(validateGateway('', '10.9.0.0/24'), undefined);
    assert.strictEqual(validateGateway('10.9.0.254', '10.9.0.0/24'), undefined);
    assert.match(validateGateway('10.9.1.1', '10.9.0.0/24')!, /outside the subnet/);
    assert.match(validateGateway('10.9.0.0', '10.9.0.0/24')!, /network address/);
    assert.match(validateGateway('10.9.0.255', '10.9.0.0/24')!, /broadcast address/);
    assert.match(validateGateway('fd00::1', '10.9.0.0/24')!, /IPv6 but the subnet/);
    assert.match(validateGateway('nope', '10.9.0.0/24')!, /not an IP address/);
  });

  it('IP range: a prefix inside the subnet', () => {
    assert.strictEqual(validateIpRange('10.9.0.128/25', '10.9.0.0/24'), undefined);
    assert.match(validateIpRange('10.9.0.0/23', '10.9.0.0/24')!, /not inside the subnet/);
    assert.match(validateIpRange('10.8.0.0/25', '10.9.0.0/24')!, /not inside the subnet/);
    assert.match(validateIpRange('10.9.0.128', '10.9.0.0/24')!, /not a range/);
  });

  it('MTU, bridge name, labels and driver options', () => {
    assert.strictEqual(validateMtu(''), undefined);
    assert.strictEqual(validateMtu('1400'), undefined);
    assert.match(validateMtu('20')!, /68 to 65535/);
    assert.match(validateMtu('abc')!, /not a valid MTU/);
    assert.strictEqual(validateBridgeName('br-test0'), undefined);
    assert.match(validateBridgeName('a-very-long-bridge-name')!, /not a valid interface name/);
    assert.match(validateBridgeName('a/b')!, /not a valid interface name/);
    assert.deepStrictEqual(parseKeyValues('a=b, c = d=e ,'), { values: { a: 'b', c: 'd=e' } });
    assert.match(parseKeyValues('a=b, c').error!, /"c" is not key=value/);
    assert.strictEqual(validateDriverOptions('com.docker.network.bridge.enable_icc=false', 'bridge'), undefined);
    assert.strictEqual(validateDriverOptions('anything.goes=1', 'macvlan'), undefined);
    assert.strictEqual(validateDriverOptions('tsnet.port_range=40000-40100', 'tsnet'), undefined);
    assert.match(validateDriverOptions('foo=1', 'tsnet:latest')!, /tsnet does not know foo; it accepts com\.docker\.network\.bridge\.name/);
  });

  it('builds the Docker create body from the answers', () => {
    const body = buildCreateNetworkBody({
      name: 'n1', driver: 'bridge', subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.128/25',
      ipv6: true, ipv6Subnet: 'fd00:9::/64', internal: true, attachable: false, mtu: '1400', bridgeName: 'brn1',
      labels: 'team=net', options: 'com.docker.network.bridge.enable_icc=false',
    });
    assert.deepStrictEqual(body, {
      Name: 'n1', Driver: 'bridge', CheckDuplicate: true, Internal: true, Attachable: false, EnableIPv6: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1', IPRange: '10.9.0.128/25' }, { Subnet: 'fd00:9::/64' }] },
      Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400', 'com.docker.network.bridge.name': 'brn1' },
      Labels: { team: 'net' },
    });
    const minimal = buildCreateNetworkBody({ name: 'n2', driver: 'tsnet', ipv6: false, internal: false, attachable: false });
    assert.deepStrictEqual(minimal.IPAM.Config, []);
    assert.deepStrictEqual(minimal.Options, {});
  });

  it('previews what the tsnet driver would refuse, with the driver\'s own words', () => {
    const ok = buildCreateNetworkBody({ name: 'n', driver: 'tsnet', subnet: '10.9.0.0/24', ipv6: false, internal: false, attachable: false });
    assert.strictEqual(previewTsnetRejection(ok), undefined);
    const bad = buildCreateNetworkBody({ name: 'n', driver: 'tsnet', subnet: '10.9.0.0/24', ipv6: false, internal: false, attachable: false, options: 'tsnet.port_range=9-1' });
    assert.match(previewTsnetRejection(bad)!, /tsnet\.port_range: "9-1" is not a port range/);
  });
});

describe('connect / run-in-namespace input validation', () => {
  const app = existing[0];
  it('static IP: optional, inside a subnet of the network, not its gateway', () => {
    assert.strictEqual(validateStaticIp('', app), undefined);
    assert.strictEqual(validateStaticIp('10.231.1.20', app), undefined);
    assert.match(validateStaticIp('10.231.2.20', app)!, /outside the subnet/);
    assert.match(validateStaticIp('10.231.1.1', app)!, /gateway of "app"/);
    assert.match(validateStaticIp('fd00::5', app)!, /has no IPv6 subnet/);
    assert.match(validateStaticIp('x', app)!, /not an IP address/);
  });

  it('aliases: comma or space separated DNS-like names', () => {
    assert.deepStrictEqual(parseAliases('db, cache primary'), { aliases: ['db', 'cache', 'primary'] });
    assert.match(parseAliases('ok, bad!').error!, /"bad!" is not a valid alias/);
  });

  it('command: split like a shell splits words and quotes', () => {
    assert.deepStrictEqual(splitCommand('sleep 3600').argv, ['sleep', '3600']);
    assert.deepStrictEqual(splitCommand(`sh -c "echo 'a b' && sleep 1"`).argv, ['sh', '-c', "echo 'a b' && sleep 1"]);
    assert.deepStrictEqual(splitCommand("a '' b\\ c").argv, ['a', '', 'b c']);
    assert.deepStrictEqual(splitCommand('   ').argv, []);
    assert.match(splitCommand('sh -c "oops').error!, /Unclosed " quote/);
  });

  it('image reference', () => {
    assert.strictEqual(validateImage('tsnet-test-busybox:latest'), undefined);
    assert.strictEqual(validateImage('registry.example:5000/a/b@sha256:abc'), undefined);
    assert.match(validateImage('')!, /Enter an image/);
    assert.match(validateImage('a b')!, /no spaces/);
  });
});

describe('ports and errors', () => {
  it('offers the browser for HTTP-ish TCP ports only', () => {
    assert.ok(isHttpPort({ proto: 'tcp', containerPort: 80 }));
    assert.ok(isHttpPort({ proto: 'tcp', containerPort: 8443 }));
    assert.ok(!isHttpPort({ proto: 'udp', containerPort: 80 }));
    assert.ok(!isHttpPort({ proto: 'tcp', containerPort: 5432 }));
  });

  it('builds the URL a user can open', () => {
    assert.strictEqual(portUrl({ hostIP: '0.0.0.0', hostPort: 18483, containerPort: 8080 }), 'http://localhost:18483/');
    assert.strictEqual(portUrl({ hostIP: '127.0.0.1', hostPort: 18480, containerPort: 80 }), 'http://127.0.0.1:18480/');
    assert.strictEqual(portUrl({ hostIP: '::1', hostPort: 18481, containerPort: 8443 }), 'https://[::1]:18481/');
    assert.strictEqual(portUrl({ hostIP: '0.0.0.0', hostPort: 80, containerPort: 80 }, 'tcp://docker.example:2375'), 'http://docker.example:80/');
    assert.strictEqual(portUrl({ hostIP: '::', hostPort: 80, containerPort: 80 }, 'unix:///var/run/docker.sock'), 'http://localhost:80/');
  });

  it('shows Docker\'s own words from a dockerode error', () => {
    assert.strictEqual(dockerErrorMessage({ message: '(HTTP code 409) unexpected - network x has active endpoints ', json: { message: 'error while removing network: network x id 1 has active endpoints' } }), 'error while removing network: network x id 1 has active endpoints');
    assert.strictEqual(dockerErrorMessage(new Error('(HTTP code 404) no such container - No such container: zz ')), 'No such container: zz');
    assert.strictEqual(dockerErrorMessage({ json: '{"message":"Pool overlaps with other one on this address space"}' }), 'Pool overlaps with other one on this address space');
  });
});
