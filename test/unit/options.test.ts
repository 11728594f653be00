import { strict as assert } from 'node:assert';
import { KNOWN_OPTIONS, OptionError, parseBool, parseNetworkRequest, type CreateNetworkRequest } from '@tsnet/shared';

const ID = 'fccef00992a21a67e4fc3514027921f7e2ae75a9a7a41ecebde404c2783e0f10';

function req(generic: Record<string, string> = {}, extra: Partial<CreateNetworkRequest> = {}): CreateNetworkRequest {
  return {
    NetworkID: ID,
    Options: { 'com.docker.network.generic': generic },
    IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.232.1.0/24', Gateway: '10.232.1.1/24' }],
    ...extra,
  };
}

describe('network options (shared/options)', () => {
  it('parses the request dockerd sent in the recorded trace', () => {
    const c = parseNetworkRequest({
      NetworkID: ID,
      Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': { 'com.docker.network.bridge.name': 'protobr' } },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Gateway: '10.232.1.1/24', Pool: '10.232.1.0/24' }],
      IPv6Data: [{ AddressSpace: 'LocalDefault', Gateway: 'fd42:232:1::1/64', Pool: 'fd42:232:1::/64' }],
    });
    assert.equal(c.bridge, 'protobr');
    assert.equal(c.bridgeNamed, true);
    assert.equal(c.ipv6, true);
    assert.equal(c.ipv4[0].gateway, '10.232.1.1');
    assert.equal(c.ipv6Subnets[0].gateway, 'fd42:232:1::1');
    assert.equal(c.ipv6Subnets[0].pool.prefixLength, 64);
  });

  it('has the bridge driver defaults', () => {
    const c = parseNetworkRequest(req());
    assert.equal(c.bridge, 'tsn-fccef00992a');
    assert.ok(Buffer.byteLength(c.bridge) <= 15);
    assert.deepEqual([c.icc, c.masquerade, c.internal, c.ipv6, c.mtu, c.hostBindingIPv4, c.containerIfacePrefix], [true, true, false, false, undefined, '0.0.0.0', 'eth']);
    assert.deepEqual(c.portRange, { start: 49153, end: 65535 });
  });

  it('reads every bridge-driver option', () => {
    const c = parseNetworkRequest(
      req({
        'com.docker.network.bridge.enable_icc': 'false',
        'com.docker.network.bridge.enable_ip_masquerade': 'False',
        'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
        'com.docker.network.driver.mtu': '1400',
        'tsnet.port_range': '30000-30010',
      }),
    );
    assert.deepEqual([c.icc, c.masquerade, c.hostBindingIPv4, c.mtu], [false, false, '127.0.0.1', 1400]);
    assert.deepEqual(c.portRange, { start: 30000, end: 30010 });
  });

  it('accepts Go ParseBool spellings and nothing else', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseBool('k', t), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseBool('k', f), false);
    assert.throws(() => parseBool('k', 'yes'), /"yes" is not a boolean; use true or false/);
  });

  const refusals: [string, CreateNetworkRequest, RegExp][] = [
    ['an unknown tsnet key', req({ 'tsnet.nope': '1' }), /unknown option "tsnet\.nope"; tsnet accepts: /],
    ['an MTU below 68', req({ 'com.docker.network.driver.mtu': '67' }), /"67" is not a valid MTU; use a whole number from 68 to 65535/],
    ['an MTU that is not a number', req({ 'com.docker.network.driver.mtu': '1e3' }), /not a valid MTU/],
    ['a 16-byte bridge name', req({ 'com.docker.network.bridge.name': 'abcdefghijklmnop' }), /not a valid interface name; use 1 to 15 bytes/],
    ['a bridge name with a slash', req({ 'com.docker.network.bridge.name': 'a/b' }), /not a valid interface name/],
    // Issue 13: accepted until the firewall refused it after the bridge existed.
    ['a bridge name with a wildcard', req({ 'com.docker.network.bridge.name': 'br*' }), /bridge\.name: "br\*" is not a valid interface name; .*"\*" \(the firewall reads \* as a wildcard\)/],
    ['a bridge name with a control character', req({ 'com.docker.network.bridge.name': 'br\u001b[0m' }), /"br\\u001b\[0m" is not a valid interface name/],
    ['a bad host binding', req({ 'com.docker.network.bridge.host_binding_ipv4': '::1' }), /host_binding_ipv4: "::1" is not an IPv4 address/],
    ['a reversed port range', req({ 'tsnet.port_range': '20-10' }), /tsnet\.port_range: "20-10" is not a port range/],
    ['a gateway outside its subnet', req({}, { IPv4Data: [{ Pool: '10.232.1.0/24', Gateway: '10.232.2.1/24' }] }), /gateway 10\.232\.2\.1 is outside its subnet 10\.232\.1\.0\/24/],
    ['a gateway on the network address', req({}, { IPv4Data: [{ Pool: '10.232.1.0/24', Gateway: '10.232.1.0/24' }] }), /is the network address/],
    ['no IPv4 subnet', req({}, { IPv4Data: [] }), /no IPv4 subnet/],
    ['--ipv6 without an IPv6 subnet', req({}, { Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} } }), /--ipv6 was given but no IPv6 subnet/],
    ['an IPv6 pool in IPv4Data', req({}, { IPv4Data: [{ Pool: 'fd00::/64', Gateway: 'fd00::1/64' }] }), /is not an IPv4 prefix/],
    ['overlapping pools', req({}, { IPv4Data: [{ Pool: '10.232.0.0/16', Gateway: '10.232.0.1/16' }, { Pool: '10.232.5.0/24', Gateway: '10.232.5.1/24' }] }), /overlap/],
    ['a /31', req({}, { IPv4Data: [{ Pool: '10.232.1.0/31', Gateway: '10.232.1.1/31' }] }), /too small/],
    ['an aux address outside the subnet', req({}, { IPv4Data: [{ Pool: '10.232.1.0/24', Gateway: '10.232.1.1/24', AuxAddresses: { r: '10.9.9.9/24' } }] }), /aux-address r=10\.9\.9\.9 is not inside/],
  ];
  for (const [what, r, re] of refusals) {
    it(`refuses ${what}, naming it`, () => {
      assert.throws(() => parseNetworkRequest(r), (e: unknown) => e instanceof OptionError && re.test((e as Error).message));
    });
  }

  it('lists every accepted key', () => {
    for (const k of ['com.docker.network.bridge.name', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade', 'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.driver.mtu']) {
      assert.ok(KNOWN_OPTIONS.includes(k), k);
    }
  });
});
