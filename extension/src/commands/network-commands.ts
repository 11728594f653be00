/** Create, remove and prune networks. */
import * as vscode from 'vscode';
import { isTsnetDriver } from '../docker/model';
import type { NetworkModel } from '../docker/model-types';
import type { TreeNode } from '../tree/nodes';
import { askMany, askPick, askText, pickNetwork } from './input';
import { currentGraph, runAction, type CommandContext } from './context';
import {
  buildCreateNetworkBody,
  previewTsnetRejection,
  validateBridgeName,
  validateDriverOptions,
  validateGateway,
  validateIpRange,
  validateLabels,
  validateMtu,
  validateNetworkName,
  validateSubnet,
  type CreateNetworkInput,
} from './network-form';

const TITLE = 'Create Docker network';

export async function createNetwork(ctx: CommandContext): Promise<void> {
  const graph = await currentGraph(ctx);
  if (!graph) return;
  const { drivers, tsnet } = await ctx.store.client.networkDrivers().catch(() => ({ drivers: ['bridge'], tsnet: undefined as string | undefined }));
  const total = 11;
  const step = (n: number) => ({ title: TITLE, step: n, totalSteps: total });

  const name = await askText({ ...step(1), prompt: 'Network name', placeholder: 'e.g. backend', validate: (v) => validateNetworkName(v.trim(), graph.networks.map((n) => n.name)) });
  if (name === undefined) return;

  const driverItems = drivers.map((d) => ({ label: d, description: isTsnetDriver(d) ? 'tsnet: bridge + veth with visible port maps' : d === 'bridge' ? "Docker's built-in bridge" : undefined }));
  const defaultDriver = driverItems.find((d) => d.label === (tsnet ?? 'bridge')) ?? driverItems[0];
  const driverPick = await askPick({ ...step(2), placeholder: `Driver (default ${defaultDriver?.label ?? 'bridge'})`, items: driverItems, active: defaultDriver });
  if (!driverPick) return;
  const driver = driverPick.label;

  const subnet = await askText({ ...step(3), prompt: 'IPv4 subnet (empty: Docker picks one)', placeholder: 'e.g. 10.20.0.0/24', validate: (v) => validateSubnet(v, 4, graph.networks) });
  if (subnet === undefined) return;
  let gateway = '';
  let ipRange = '';
  if (subnet) {
    const g = await askText({ ...step(4), prompt: `Gateway in ${subnet} (empty: the first address)`, placeholder: 'e.g. 10.20.0.1', validate: (v) => validateGateway(v, subnet) });
    if (g === undefined) return;
    gateway = g;
    const r = await askText({ ...step(5), prompt: `IP range for containers inside ${subnet} (empty: the whole subnet)`, placeholder: 'e.g. 10.20.0.128/25', validate: (v) => validateIpRange(v, subnet) });
    if (r === undefined) return;
    ipRange = r;
  }

  const flags = await askMany({
    ...step(6),
    placeholder: 'Options (Space toggles, Enter continues)',
    items: [
      { label: 'IPv6', description: 'give containers IPv6 addresses (asks for a subnet next)', flag: 'ipv6' as const },
      { label: 'Internal', description: 'no traffic to or from outside the network', flag: 'internal' as const },
      { label: 'Attachable', description: 'for swarm-scoped drivers', flag: 'attachable' as const },
    ],
  });
  if (!flags) return;
  const has = (f: string) => flags.some((x) => x.flag === f);
  let ipv6Subnet = '';
  if (has('ipv6')) {
    const s6 = await askText({ ...step(7), prompt: 'IPv6 subnet', placeholder: 'e.g. fd00:20::/64', validate: (v) => validateSubnet(v, 6, graph.networks, false) });
    if (s6 === undefined) return;
    ipv6Subnet = s6;
  }
  const mtu = await askText({ ...step(8), prompt: 'MTU (empty: the default)', placeholder: '68-65535, e.g. 1450', validate: validateMtu });
  if (mtu === undefined) return;
  let bridgeName = '';
  if (driver === 'bridge' || isTsnetDriver(driver)) {
    const b = await askText({ ...step(9), prompt: 'Linux bridge name (empty: derived from the network ID)', placeholder: 'at most 15 bytes, e.g. br-backend', validate: validateBridgeName });
    if (b === undefined) return;
    bridgeName = b;
  }
  const labelText = await askText({ ...step(10), prompt: 'Labels (optional)', placeholder: 'key=value, key=value', validate: validateLabels });
  if (labelText === undefined) return;
  const optionText = await askText({
    ...step(11),
    prompt: `Driver options, as -o key=value (optional)${isTsnetDriver(driver) ? '; tsnet checks the names' : ''}`,
    placeholder: 'e.g. com.docker.network.bridge.enable_icc=false',
    validate: (v) => validateDriverOptions(v, driver),
  });
  if (optionText === undefined) return;

  const input: CreateNetworkInput = {
    name, driver, subnet, gateway, ipRange, ipv6: has('ipv6'), ipv6Subnet, internal: has('internal'), attachable: has('attachable'),
    mtu, bridgeName, labels: labelText, options: optionText,
  };
  const body = buildCreateNetworkBody(input);
  if (isTsnetDriver(driver)) {
    const refusal = previewTsnetRejection(body);
    if (refusal) {
      void vscode.window.showErrorMessage(`tsnet: the tsnet driver would refuse network "${name}": ${refusal}`);
      return;
    }
  }
  const r = await runAction(ctx, `Creating network ${name}`, `could not create network "${name}"`, () => ctx.store.client.createNetwork(body));
  if (r.ok) void vscode.window.showInformationMessage(`tsnet: created network "${name}" (${driver}).`);
}

async function networkFrom(ctx: CommandContext, node: TreeNode | undefined, placeholder: string): Promise<NetworkModel | undefined> {
  if (node?.kind === 'network') return node.network;
  const graph = await currentGraph(ctx);
  return graph ? pickNetwork(graph, placeholder, (n) => !n.builtin) : undefined;
}

export async function removeNetwork(ctx: CommandContext, node?: TreeNode): Promise<void> {
  const picked = await networkFrom(ctx, node, 'Network to remove');
  if (!picked) return;
  const graph = await currentGraph(ctx);
  if (!graph) return;
  const network = graph.networks.find((n) => n.id === picked.id);
  if (!network) {
    void vscode.window.showInformationMessage(`tsnet: network "${picked.name}" no longer exists.`);
    return;
  }
  if (network.builtin) {
    void vscode.window.showErrorMessage(`tsnet: "${network.name}" is built into Docker and cannot be removed.`);
    return;
  }
  const attached = [...new Set(graph.endpoints.filter((e) => e.networkId === network.id).map((e) => e.containerId))]
    .map((id) => graph.containers.find((c) => c.id === id)?.name ?? id.slice(0, 12));
  if (attached.length > 0) {
    void vscode.window.showErrorMessage(
      `tsnet: cannot remove network "${network.name}": ${attached.length} container${attached.length > 1 ? 's are' : ' is'} attached (${attached.join(', ')}). Disconnect ${attached.length > 1 ? 'them' : 'it'} first.`,
    );
    return;
  }
  const answer = await vscode.window.showWarningMessage(
    `Remove network "${network.name}"?`,
    { modal: true, detail: `${network.driver} · ${network.subnets.map((s) => s.subnet).join(', ') || 'no subnet'}` },
    'Remove',
  );
  if (answer !== 'Remove') return;
  const r = await runAction(ctx, `Removing network ${network.name}`, `could not remove network "${network.name}"`, () => ctx.store.client.removeNetwork(network.id));
  if (r.ok) void vscode.window.showInformationMessage(`tsnet: removed network "${network.name}".`);
}

export async function pruneNetworks(ctx: CommandContext): Promise<void> {
  const graph = await currentGraph(ctx);
  if (!graph) return;
  const unused = graph.networks.filter((n) => !n.builtin && n.endpointIds.length === 0);
  if (unused.length === 0) {
    void vscode.window.showInformationMessage('tsnet: no unused networks to prune.');
    return;
  }
  const answer = await vscode.window.showWarningMessage(
    `Remove ${unused.length} unused network${unused.length > 1 ? 's' : ''}?`,
    { modal: true, detail: unused.map((n) => n.name).join(', ') },
    'Prune',
  );
  if (answer !== 'Prune') return;
  const r = await runAction(ctx, 'Pruning unused networks', 'could not prune networks', () => ctx.store.client.pruneNetworks());
  if (r.ok) void vscode.window.showInformationMessage(r.value.length ? `tsnet: removed ${r.value.join(', ')}.` : 'tsnet: nothing was pruned.');
}
