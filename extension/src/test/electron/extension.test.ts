/**
 * Inside a real VS Code (desktop, through @vscode/test-electron): the extension activates, its
 * commands exist, and its views show what is made through Docker here. Objects are named
 * `tstx-el-*` and removed afterwards.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import Docker from 'dockerode';
import type { TsnetExtensionApi } from '../../extension';
import type { TreeNode } from '../../tree/nodes';

const PREFIX = 'tstx-el-';
const IMAGE = 'tsnet-test-busybox:latest';
const docker = new Docker();

async function removeOurObjects(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: JSON.stringify({ name: [PREFIX] }) })) {
    if (c.Names.some((n) => n.replace(/^\//, '').startsWith(PREFIX))) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters: JSON.stringify({ name: [PREFIX] }) })) {
    if (n.Name.startsWith(PREFIX)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : item.label?.label ?? '';
}

describe('tsnet extension inside VS Code', () => {
  let api: TsnetExtensionApi;

  before(async () => {
    await removeOurObjects();
    await docker.createNetwork({ Name: `${PREFIX}net`, Driver: 'bridge', CheckDuplicate: true, IPAM: { Driver: 'default', Config: [{ Subnet: '10.214.1.0/24' }] } });
    const web = await docker.createContainer({ Image: IMAGE, name: `${PREFIX}web`, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: `${PREFIX}net` } });
    await web.start();
    const side = await docker.createContainer({ Image: IMAGE, name: `${PREFIX}side`, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: `container:${web.id}` } });
    await side.start();
    const ext = vscode.extensions.getExtension<TsnetExtensionApi>('tsnet.tsnet-networks');
    assert.ok(ext, 'the extension is installed');
    api = await ext.activate();
    await api.refresh();
  });

  after(removeOurObjects);

  it('registers its commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['tsnet.createNetwork', 'tsnet.removeNetwork', 'tsnet.connectContainer', 'tsnet.disconnectContainer', 'tsnet.runInNamespace', 'tsnet.inspect']) {
      assert.ok(all.includes(id), id);
    }
  });

  it('shows the network, its container and its address in the Networks tree', async () => {
    const roots = api.networksTree.getChildren();
    const netNode = roots.find((n) => n.kind === 'network' && n.network.name === `${PREFIX}net`) as TreeNode;
    assert.ok(netNode, 'network row');
    const containers = api.networksTree.getChildren(netNode);
    const web = containers.find((n) => n.kind === 'container' && n.container.name === `${PREFIX}web`) as TreeNode;
    assert.ok(web, 'container row');
    assert.match(String(api.networksTree.getTreeItem(web).description), /^10\.214\.1\.\d+ · ([0-9a-f]{2}:){5}[0-9a-f]{2} · running$/);
    const rows = api.networksTree.getChildren(web).map((n) => labelOf(api.networksTree.getTreeItem(n)));
    assert.ok(rows.some((r) => /^10\.214\.1\.\d+\/24$/.test(r)), rows.join(', '));
  });

  it('groups the --network container:X pair in the Namespaces tree', () => {
    const groups = api.namespacesTree.getChildren();
    const pod = groups.find((n) => n.kind === 'namespace' && n.owner?.name === `${PREFIX}web`) as TreeNode;
    assert.ok(pod, 'namespace group');
    assert.match(String(api.namespacesTree.getTreeItem(pod).description), /pod of 2 containers/);
    const members = api.namespacesTree.getChildren(pod).map((n) => labelOf(api.namespacesTree.getTreeItem(n)));
    assert.deepStrictEqual(members, [`${PREFIX}web`, `${PREFIX}side`]);
  });
});
