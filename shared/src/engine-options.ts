/**
 * Options that Docker Engines newer than the one tsnet is tested with (20.10) send or that users
 * copy from current Docker docs, read in moby's bridge and remote drivers (25–29). Each gets the
 * built-in bridge driver's meaning where tsnet does the same thing; anything else is refused
 * with "not supported yet" instead of "unknown option", so the user knows it is a real option.
 */
import { parseBool, OptionError } from './options';

export const ENGINE_OPT = {
  /** Engine 27+: nat (default) | nat-unprotected | routed | isolated (28.x). */
  gatewayModeIPv4: 'com.docker.network.bridge.gateway_mode_ipv4',
  gatewayModeIPv6: 'com.docker.network.bridge.gateway_mode_ipv6',
  /** Engine 25+ (bridge): true = the bridge gets no IPv4 gateway address (an external gateway). */
  inhibitIPv4: 'com.docker.network.bridge.inhibit_ipv4',
  /** Engine 28+: host interfaces from which container addresses may be reached directly ("a:b"). */
  trustedHostInterfaces: 'com.docker.network.bridge.trusted_host_interfaces',
  /** Engine 28+, a top-level CreateNetwork option like enable_ipv6: false = an IPv6-only network. */
  enableIPv4: 'com.docker.network.enable_ipv4',
  /** Engine 28+, an endpoint driver option: the interface's name inside the container. */
  endpointIfname: 'com.docker.network.endpoint.ifname',
} as const;

/** Generic (-o) options of newer engines, with the values tsnet accepts and what they mean. */
export const ENGINE_OPTION_DOCS: Record<string, { accepted: string; help: string }> = {
  [ENGINE_OPT.gatewayModeIPv4]: { accepted: 'nat', help: 'nat is what tsnet does (masquerade out, DNAT for published ports); nat-unprotected, routed and isolated are not supported yet.' },
  [ENGINE_OPT.gatewayModeIPv6]: { accepted: 'nat', help: 'as gateway_mode_ipv4, for IPv6.' },
  [ENGINE_OPT.inhibitIPv4]: { accepted: 'false', help: 'true (no IPv4 gateway address on the bridge) is not supported yet.' },
  [ENGINE_OPT.trustedHostInterfaces]: { accepted: 'empty', help: 'a list of interfaces is not supported yet.' },
};

export const ENGINE_OPTIONS = Object.keys(ENGINE_OPTION_DOCS);

function notYet(what: string, instead: string): OptionError {
  return new OptionError(`${what} is not supported yet by tsnet; ${instead}`);
}

/** Checks the newer engines' generic options in `raw` (the -o map); throws on what tsnet cannot do. */
export function checkEngineGenericOptions(raw: Record<string, string>): void {
  for (const key of [ENGINE_OPT.gatewayModeIPv4, ENGINE_OPT.gatewayModeIPv6]) {
    const v = raw[key];
    if (v === undefined || v === 'nat') continue;
    if (['nat-unprotected', 'routed', 'isolated'].includes(v)) throw notYet(`option ${key}=${v}`, 'tsnet networks work as gateway mode "nat" (leave the option out, or give nat)');
    throw new OptionError(`option ${key}: "${v}" is not a gateway mode; Docker's are nat, nat-unprotected, routed and isolated, and tsnet supports nat`);
  }
  if (raw[ENGINE_OPT.inhibitIPv4] !== undefined && parseBool(ENGINE_OPT.inhibitIPv4, raw[ENGINE_OPT.inhibitIPv4])) {
    throw notYet(`option ${ENGINE_OPT.inhibitIPv4}=true (a bridge without an IPv4 gateway address)`, 'leave it out: tsnet puts the gateway address on the bridge');
  }
  const trusted = raw[ENGINE_OPT.trustedHostInterfaces];
  if (trusted !== undefined && trusted.trim() !== '') {
    throw notYet(`option ${ENGINE_OPT.trustedHostInterfaces}="${trusted.slice(0, 100)}" (direct access to container addresses from host interfaces)`, 'publish ports with -p instead');
  }
}

/** enable_ipv4 of Engine 28+ (absent on older engines means true). */
export function checkEnableIPv4(options: Record<string, unknown>): void {
  const v = options[ENGINE_OPT.enableIPv4];
  if (v === undefined || v === null) return;
  if (!parseBool('--ipv4', v)) throw notYet('an IPv6-only network (--ipv4=false)', 'create the network with IPv4 (the default), adding --ipv6 for dual stack');
}

/** CreateEndpoint / Join options: the endpoint driver options newer engines pass. */
export function checkEndpointOptions(options: Record<string, unknown> | null | undefined): void {
  const ifname = options?.[ENGINE_OPT.endpointIfname];
  if (ifname !== undefined && ifname !== null && ifname !== '') {
    throw notYet(
      `driver option ${ENGINE_OPT.endpointIfname}=${String(ifname).slice(0, 40)} (the interface name inside the container)`,
      'the remote-driver API lets a plugin give only a prefix: use -o com.docker.network.container_iface_prefix=PREFIX on the network',
    );
  }
}
