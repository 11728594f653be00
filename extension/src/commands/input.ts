/**
 * Step-by-step inputs that validate while the user types (validationMessage on every keystroke),
 * and pickers for networks and containers when a command is run from the palette.
 */
import * as vscode from 'vscode';
import type { ContainerModel, NetworkGraph, NetworkModel } from '../docker/model-types';

export interface Step {
  title: string;
  step: number;
  totalSteps: number;
}

export function askText(s: Step & { prompt: string; value?: string; placeholder?: string; validate?: (v: string) => string | undefined }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = s.title;
    box.step = s.step;
    box.totalSteps = s.totalSteps;
    box.prompt = s.prompt;
    box.placeholder = s.placeholder;
    box.value = s.value ?? '';
    box.ignoreFocusOut = true;
    let done = false;
    const check = (v: string) => {
      box.validationMessage = s.validate?.(v);
    };
    // A prefilled value is checked at once; an empty one only once the user types (the prompt stays visible).
    if (box.value !== '') check(box.value);
    box.onDidChangeValue(check);
    box.onDidAccept(() => {
      const err = s.validate?.(box.value);
      if (err) {
        box.validationMessage = err;
        return;
      }
      done = true;
      resolve(box.value.trim());
      box.hide();
    });
    box.onDidHide(() => {
      if (!done) resolve(undefined);
      box.dispose();
    });
    box.show();
  });
}

export function askPick<T extends vscode.QuickPickItem>(s: Step & { placeholder: string; items: T[]; active?: T }): Promise<T | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<T>();
    qp.title = s.title;
    qp.step = s.step;
    qp.totalSteps = s.totalSteps;
    qp.placeholder = s.placeholder;
    qp.items = s.items;
    qp.ignoreFocusOut = true;
    if (s.active) qp.activeItems = [s.active];
    let done = false;
    qp.onDidAccept(() => {
      const [picked] = qp.selectedItems.length ? qp.selectedItems : qp.activeItems;
      if (!picked) return;
      done = true;
      resolve(picked);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

export function askMany<T extends vscode.QuickPickItem>(s: Step & { placeholder: string; items: T[] }): Promise<T[] | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<T>();
    qp.title = s.title;
    qp.step = s.step;
    qp.totalSteps = s.totalSteps;
    qp.placeholder = s.placeholder;
    qp.items = s.items;
    qp.canSelectMany = true;
    qp.ignoreFocusOut = true;
    qp.selectedItems = s.items.filter((i) => i.picked);
    let done = false;
    qp.onDidAccept(() => {
      done = true;
      resolve([...qp.selectedItems]);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

export async function pickNetwork(graph: NetworkGraph, placeholder: string, filter: (n: NetworkModel) => boolean): Promise<NetworkModel | undefined> {
  const nets = graph.networks.filter(filter);
  if (nets.length === 0) {
    void vscode.window.showInformationMessage('tsnet: there is no network to choose from.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    nets.map((n) => ({ label: n.name, description: `${n.driver} ${n.subnets.map((s) => s.subnet).join(', ')}`, network: n })),
    { placeHolder: placeholder, ignoreFocusOut: true },
  );
  return picked?.network;
}

export async function pickContainer(graph: NetworkGraph, placeholder: string, filter: (c: ContainerModel) => boolean): Promise<ContainerModel | undefined> {
  const cs = graph.containers.filter(filter);
  if (cs.length === 0) {
    void vscode.window.showInformationMessage('tsnet: there is no container to choose from.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    cs.map((c) => ({ label: c.name, description: `${c.image} · ${c.status}`, container: c })),
    { placeHolder: placeholder, ignoreFocusOut: true },
  );
  return picked?.container;
}
