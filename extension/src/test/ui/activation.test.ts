/**
 * Runs first (file order): the extension is not running until its view is opened; the view names
 * the engine it reads; an unreachable endpoint shows the welcome content with Retry, and Retry
 * connects once the engine is there. The endpoint is changed through the real settings file
 * (tsnet.dockerHost is machine-scoped: code-server reads it from <user-data-dir>/Machine/settings.json,
 * as a remote window does); the test removes what it wrote, also on failure.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requireEnv, Workbench } from './workbench';
import { eventually } from './docker-helpers';

/**
 * Names in Developer: Show Running Extensions (a virtualised list: scrolled through). On a cold
 * start (a fresh machine's first code-server launch) the editor opens before the extension host
 * has reported, with an empty list that fills later: its rows are waited for, and the editor is
 * opened again when it showed too few of them.
 */
async function runningExtensions(wb: Workbench): Promise<string[]> {
  let names: string[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    names = await readRunningExtensions(wb);
    if (names.length > 3) break;
  }
  return names;
}

async function readRunningExtensions(wb: Workbench): Promise<string[]> {
  const p = wb.page;
  await wb.runCommand('Developer: Show Running Extensions');
  const list = p.locator('.runtime-extensions-editor .monaco-list').first();
  await list.waitFor();
  await p.locator('.runtime-extensions-editor .monaco-list-row .name').first().waitFor({ timeout: 15_000 }).catch(() => undefined);
  await p.waitForTimeout(500);
  const names = new Set<string>();
  const box = await list.boundingBox();
  if (box) await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 20; i++) {
    for (const t of await p.locator('.runtime-extensions-editor .monaco-list-row .name').allInnerTexts()) names.add(t.trim());
    await p.mouse.wheel(0, 300);
    await p.waitForTimeout(100);
  }
  await p.keyboard.press('Escape');
  await wb.runCommand('View: Close All Editors');
  return [...names];
}

describe('activation and the Docker endpoint (code-server, real dockerd)', function () {
  let wb: Workbench;
  let settingsFile: string;
  let settingsBefore: string | undefined;
  let tmp: string;

  const setDockerHost = (value: string | undefined) => {
    const s = JSON.parse(settingsBefore ?? '{}') as Record<string, unknown>;
    if (value !== undefined) s['tsnet.dockerHost'] = value;
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify(s, null, 2));
  };

  before(async function () {
    settingsFile = requireEnv('TSNET_MACHINE_SETTINGS');
    settingsBefore = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ui-endpoint-'));
    wb = await Workbench.open(requireEnv('CODE_SERVER_URL'), requireEnv('TSNET_ARTIFACTS'));
  });

  after(async function () {
    if (settingsBefore === undefined) fs.rmSync(settingsFile, { force: true });
    else fs.writeFileSync(settingsFile, settingsBefore);
    fs.rmSync(tmp, { recursive: true, force: true });
    await wb?.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`failed-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => undefined);
  });

  it('is not running before its view is opened, and is once it is (activation on its views and commands only)', async () => {
    const before = await runningExtensions(wb);
    assert.ok(before.length > 3, `the Running Extensions list was read: ${before.join(', ')}`);
    assert.ok(!before.some((n) => n.startsWith('tsnet')), `tsnet runs before anything asked for it: ${before.join(', ')}`);
    await wb.openTsnetView();
    const networks = await wb.expandSection('Networks');
    await wb.waitRow(networks, ['bridge']);
    const after = await runningExtensions(wb);
    assert.ok(after.includes('tsnet: Docker Networks'), `tsnet is not running after its view opened: ${after.join(', ')}`);
  });

  it('names the engine the views read in the Networks view title', async () => {
    await wb.openTsnetView();
    const header = wb.page.locator('.part.sidebar .pane-header', { hasText: 'Networks' }).first();
    await eventually('the engine in the title', async () => /default socket · Docker \d+\.\d+/.test(await header.innerText()));
  });

  it('an unreachable endpoint shows the welcome content; Retry connects once the engine is there', async () => {
    // A socket path that does not exist yet; later a link to the real engine's socket appears there.
    const sock = path.join(tmp, 'docker.sock');
    setDockerHost(`unix://${sock}`);
    const header = wb.page.locator('.part.sidebar .pane-header', { hasText: 'Networks' }).first();
    const welcome = wb.page.locator('.part.sidebar .pane', { has: wb.page.locator('.pane-header', { hasText: 'Networks' }) }).first().locator('.welcome-view-content');
    await eventually('the unreachable title', async () => (await header.innerText()).includes(`unix://${sock}: not reachable`));
    await welcome.waitFor();
    assert.match(await welcome.innerText(), /no Docker socket where the views look/);
    const retry = welcome.locator('a, .monaco-button', { hasText: 'Retry' }).first();
    await retry.waitFor();
    await wb.screenshot('welcome-unreachable');

    fs.symlinkSync('/var/run/docker.sock', sock);
    await retry.click();
    const networks = await wb.expandSection('Networks');
    await wb.waitRow(networks, ['bridge']);
    await eventually('the connected title', async () => (await header.innerText()).includes(`unix://${sock} · Docker`));
  });

  it('a docker context that does not exist is named in the log and the welcome says the endpoint is misconfigured', async () => {
    setDockerHost('tsnet-ui-no-such-context');
    const welcome = wb.page.locator('.part.sidebar .pane', { has: wb.page.locator('.pane-header', { hasText: 'Networks' }) }).first().locator('.welcome-view-content');
    await eventually('the misconfigured welcome', async () => /endpoint is misconfigured/.test(await welcome.innerText().catch(() => '')));
    setDockerHost(undefined);
    const networks = await wb.expandSection('Networks');
    await wb.waitRow(networks, ['bridge']);
  });
});
