/** Connect, disconnect, and run a container in another container's network namespace. */
import * as vscode from 'vscode';
import type { ContainerModel, NetworkGraph, NetworkModel } from '../docker/model-types';
import type { TreeNode } from '../tree/nodes';
import { askText, pickContainer, pickNetwork } from './input';
import { currentGraph, runAction, type CommandContext } from './context';
import { ipFamily } from '@tsnet/shared';
import { parseAliases, splitCommand, validateContainerName, validateImage, validateStaticIp } from './container-form';

/** Networks a container can be connected to: not host/none, not already attached. */
function connectableNetworks(graph: NetworkGraph, c: ContainerModel): (n: NetworkModel) => boolean {
  const attached = new Set(graph.endpoints.filter((e) => e.containerId === c.id).map((e) => e.networkId));
  return (n) => !attached.has(n.id) && n.name !== 'host' && n.name !== 'none';
}

/** A container in another's namespace, or on host/none, has no networks of its own to change. */
function canHaveNetworks(c: ContainerModel): boolean {
  return !c.sharesNamespaceWith && c.networkMode !== 'host' && c.networkMode !== 'none';
}

export async function connectContainer(ctx: CommandContext, node?: TreeNode): Promise<void> {
  const graph = await currentGraph(ctx);
  if (!graph) return;
  let network: NetworkModel | undefined;
  let container: ContainerModel | undefined;
  if (node?.kind === 'network') network = node.network;
  if (node?.kind === 'container') container = node.container;
  if (container && !canHaveNetworks(container)) {
    void vscode.window.showErrorMessage(`tsnet: ${container.name} uses ${container.networkMode.startsWith('container:') ? 'another container\'s' : `the ${container.networkMode}`} network namespace and cannot be connected to networks.`);
    return;
  }
  if (!container) {
    const net = network;
    container = await pickContainer(graph, `Container to connect${net ? ` to ${net.name}` : ''}`, (c) => canHaveNetworks(c) && (!net || !graph.endpoints.some((e) => e.containerId === c.id && e.networkId === net.id)));
    if (!container) return;
  }
  if (!network) {
    network = await pickNetwork(graph, `Network to connect ${container.name} to`, connectableNetworks(graph, container));
    if (!network) return;
  }
  const net = network;
  const title = `Connect ${container.name} to ${net.name}`;
  const ip = await askText({ title, step: 1, totalSteps: 2, prompt: `Static IP address (optional; inside ${net.subnets.map((s) => s.subnet).join(', ') || 'the network'})`, placeholder: 'empty: Docker assigns one', validate: (v) => validateStaticIp(v, net) });
  if (ip === undefined) return;
  const aliasText = await askText({ title, step: 2, totalSteps: 2, prompt: 'Aliases on this network (optional, comma separated)', placeholder: 'e.g. db, primary', validate: (v) => parseAliases(v).error });
  if (aliasText === undefined) return;
  const c = container;
  const r = await runAction(ctx, `Connecting ${c.name} to ${net.name}`, `could not connect ${c.name} to ${net.name}`, () =>
    ctx.store.client.connect(net.id, c.id, { ipv4: ipFamily(ip) === 4 ? ip : undefined, ipv6: ipFamily(ip) === 6 ? ip : undefined, aliases: parseAliases(aliasText).aliases }),
  );
  if (r.ok) void vscode.window.showInformationMessage(`tsnet: connected ${c.name} to ${net.name}.`);
}

export async function disconnectContainer(ctx: CommandContext, node?: TreeNode): Promise<void> {
  const graph = await currentGraph(ctx);
  if (!graph) return;
  let container = node?.kind === 'container' ? node.container : undefined;
  let network = node?.kind === 'container' ? node.network : undefined;
  if (!container) {
    container = await pickContainer(graph, 'Container to disconnect', (c) => graph.endpoints.some((e) => e.containerId === c.id) && canHaveNetworks(c));
    if (!container) return;
  }
  if (!network) {
    const c = container;
    network = await pickNetwork(graph, `Network to disconnect ${c.name} from`, (n) => graph.endpoints.some((e) => e.containerId === c.id && e.networkId === n.id));
    if (!network) return;
  }
  const c = container;
  const n = network;
  const r = await runAction(ctx, `Disconnecting ${c.name} from ${n.name}`, `could not disconnect ${c.name} from ${n.name}`, () => ctx.store.client.disconnect(n.id, c.id, c.state !== 'running'));
  if (r.ok) void vscode.window.showInformationMessage(`tsnet: disconnected ${c.name} from ${n.name}.`);
}

export async function runInNamespace(ctx: CommandContext, node?: TreeNode): Promise<void> {
  const graph = await currentGraph(ctx);
  if (!graph) return;
  let target: ContainerModel | undefined = node?.kind === 'container' ? node.container : node?.kind === 'namespace' ? node.owner : undefined;
  if (!target) {
    target = await pickContainer(graph, 'Run a new container in the network namespace of…', (c) => c.state === 'running');
    if (!target) return;
  }
  // Joining a member is joining its owner's namespace; name the owner so Docker resolves it directly.
  const ownerId = target.namespaceId || target.id;
  const owner = graph.containers.find((c) => c.id === ownerId) ?? target;
  if (owner.state !== 'running') {
    void vscode.window.showErrorMessage(`tsnet: ${owner.name} is not running; its network namespace exists only while it runs.`);
    return;
  }
  const title = `Run a container in ${owner.name}'s network namespace`;
  const image = await askText({ title, step: 1, totalSteps: 3, prompt: 'Image', value: owner.image, validate: validateImage });
  if (image === undefined) return;
  const cmdText = await askText({ title, step: 2, totalSteps: 3, prompt: 'Command (empty: the image\'s default)', placeholder: 'e.g. sleep 3600', validate: (v) => splitCommand(v).error });
  if (cmdText === undefined) return;
  const name = await askText({ title, step: 3, totalSteps: 3, prompt: 'Container name (optional)', placeholder: `e.g. ${owner.name}-sidecar`, validate: (v) => validateContainerName(v) ?? (graph.containers.some((c) => c.name === v.trim()) ? `A container named "${v.trim()}" already exists.` : undefined) });
  if (name === undefined) return;
  const r = await runAction(ctx, `Starting a container in ${owner.name}'s network namespace`, `could not run ${image} in ${owner.name}'s network namespace`, () =>
    ctx.store.client.runInNamespace(owner.id, image, splitCommand(cmdText).argv, name || undefined),
  );
  if (r.ok) void vscode.window.showInformationMessage(`tsnet: started ${name || r.value.slice(0, 12)} in ${owner.name}'s network namespace (--network container:${owner.name}).`);
}
