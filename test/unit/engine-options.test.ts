/**
 * Requests as Docker Engines 25–29 send them to a remote network driver (the shapes of moby's
 * libnetwork/drivers/remote CreateNetwork/CreateEndpoint and the bridge driver's option names;
 * only Engine 20.10 runs on the test machines, so these are emulated, not recorded).
 */
import { strict as assert } from 'node:assert';
import { checkEndpointOptions, OptionError, parseNetworkRequest, type CreateNetworkRequest } from '@tsnet/shared';

const ID = '4b3f5d0c1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c';
const V4 = [{ AddressSpace: 'LocalDefault', Pool: '10.232.40.0/24', Gateway: '10.232.40.1/24' }];
const V6 = [{ AddressSpace: 'LocalDefault', Pool: 'fd42:232:40::/64', Gateway: 'fd42:232:40::1/64' }];

/** Engine 25/26: enable_ipv6 always present, generic -o map, IPv6Data empty list. */
function engine26(generic: Record<string, string> = {}): CreateNetworkRequest {
  return { NetworkID: ID, Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': generic }, IPv4Data: V4, IPv6Data: [] };
}
/** Engine 28/29: enable_ipv4 sent as well (an IPv6-only network: false, and no IPv4 pools). */
function engine28(generic: Record<string, string> = {}, ipv4 = true, ipv6 = false): CreateNetworkRequest {
  return {
    NetworkID: ID,
    Options: { 'com.docker.network.enable_ipv4': ipv4, 'com.docker.network.enable_ipv6': ipv6, 'com.docker.network.generic': generic },
    IPv4Data: ipv4 ? V4 : [],
    IPv6Data: ipv6 ? V6 : [],
  };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OptionError, `not an OptionError: ${e}`);
    return e.message;
  }
  assert.fail('accepted');
}

describe('options of newer Docker Engines (25–29), emulated request shapes', () => {
  it('Engine 25/26 and 28/29 plain requests are accepted as before', () => {
    assert.equal(parseNetworkRequest(engine26()).ipv6, false);
    const c = parseNetworkRequest(engine28({}, true, true));
    assert.equal(c.ipv6, true);
    assert.equal(c.ipv4[0].gateway, '10.232.40.1');
  });

  it('gateway_mode_ipv4/_ipv6=nat (Engine 27+) is the bridge driver\'s default and what tsnet does: accepted', () => {
    const c = parseNetworkRequest(engine28({ 'com.docker.network.bridge.gateway_mode_ipv4': 'nat', 'com.docker.network.bridge.gateway_mode_ipv6': 'nat' }, true, true));
    assert.equal(c.masquerade, true);
  });

  it('other gateway modes: "not supported yet"; a misspelt mode: the modes Docker has', () => {
    for (const mode of ['nat-unprotected', 'routed', 'isolated']) {
      for (const fam of ['ipv4', 'ipv6']) {
        const m = refusal(() => parseNetworkRequest(engine28({ [`com.docker.network.bridge.gateway_mode_${fam}`]: mode })));
        assert.equal(m, `option com.docker.network.bridge.gateway_mode_${fam}=${mode} is not supported yet by tsnet; tsnet networks work as gateway mode "nat" (leave the option out, or give nat)`);
      }
    }
    assert.match(refusal(() => parseNetworkRequest(engine28({ 'com.docker.network.bridge.gateway_mode_ipv4': 'natt' }))), /"natt" is not a gateway mode; Docker's are nat, nat-unprotected, routed and isolated/);
  });

  it('inhibit_ipv4: false accepted, true not supported yet, garbage is not a boolean', () => {
    parseNetworkRequest(engine26({ 'com.docker.network.bridge.inhibit_ipv4': 'false' }));
    assert.match(refusal(() => parseNetworkRequest(engine26({ 'com.docker.network.bridge.inhibit_ipv4': 'true' }))), /inhibit_ipv4=true .* is not supported yet/);
    assert.match(refusal(() => parseNetworkRequest(engine26({ 'com.docker.network.bridge.inhibit_ipv4': 'maybe' }))), /"maybe" is not a boolean/);
  });

  it('trusted_host_interfaces (Engine 28+): empty accepted, a list not supported yet', () => {
    parseNetworkRequest(engine28({ 'com.docker.network.bridge.trusted_host_interfaces': '' }));
    assert.match(refusal(() => parseNetworkRequest(engine28({ 'com.docker.network.bridge.trusted_host_interfaces': 'vxlan.1:eth3' }))), /trusted_host_interfaces="vxlan\.1:eth3" .* is not supported yet by tsnet; publish ports with -p instead/);
  });

  it('enable_ipv4=false, an IPv6-only network (Engine 28+): not supported yet, before the missing IPv4 pool', () => {
    assert.equal(refusal(() => parseNetworkRequest(engine28({}, false, true))), 'an IPv6-only network (--ipv4=false) is not supported yet by tsnet; create the network with IPv4 (the default), adding --ipv6 for dual stack');
  });

  it('endpoint driver option ifname (Engine 28+): not supported yet, naming the prefix option instead', () => {
    checkEndpointOptions(undefined);
    checkEndpointOptions({ 'com.docker.network.endpoint.exposedports': [], 'com.docker.network.portmap': [] });
    assert.match(refusal(() => checkEndpointOptions({ 'com.docker.network.endpoint.ifname': 'data0' })), /ifname=data0 .* is not supported yet by tsnet; .*container_iface_prefix/);
  });

  it('a truly unknown option is still "unknown"', () => {
    assert.match(refusal(() => parseNetworkRequest(engine28({ 'com.docker.network.bridge.frobnicate': '1' }))), /^unknown option "com.docker.network.bridge.frobnicate"/);
  });
});
