/**
 * The managed plugin against the real dockerd: install (or use the installed one), two containers
 * on a plugin network ping each other, upgrade in place with running containers (network and
 * state intact, new containers join), dockerd restart (plugin comes back enabled, networks
 * work), removal of what the test made.
 *
 * Plugin reference: TSNET_PLUGIN_NAME (default tsnetp) : TSNET_PLUGIN_TAG (default latest).
 * When the plugin is not installed, the test installs it and removes it at the end
 * (scripts/test-plugin.sh installs it before and removes it after, always).
 * The dockerd restart test stops every container on the host; it always runs.
 * Every Docker object made here is named tstp-*.
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const NAME = process.env.TSNET_PLUGIN_NAME ?? 'tsnetp';
const TAG = process.env.TSNET_PLUGIN_TAG ?? 'latest';
const REF = `${NAME}:${TAG}`;
const STATE_DIR = process.env.TSNET_PLUGIN_STATE_DIR ?? `/var/lib/${NAME}`;
const IMAGE = process.env.TSNET_TEST_IMAGE ?? 'tsnet-test-busybox:latest';
const NET = 'tstp-plugin-net';
const SUBNET = process.env.TSNET_PLUGIN_TEST_SUBNET ?? '10.231.177.0/24';
const CONTAINERS = ['tstp-plugin-c1', 'tstp-plugin-c2', 'tstp-plugin-c3', 'tstp-plugin-c4'];

function sh(cmd: string, args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    cwd: REPO,
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSNET_PLUGIN_NAME: NAME, TSNET_PLUGIN_TAG: TAG, ...env },
  }).trim();
}
const docker = (args: string[], timeoutMs = 60_000) => sh('docker', args, timeoutMs);
const quiet = (fn: () => unknown) => {
  try {
    fn();
  } catch {
    /* absent */
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pluginState(): { id: string; enabled: boolean } | undefined {
  try {
    const [id, enabled] = docker(['plugin', 'inspect', '-f', '{{.Id}} {{.Enabled}}', REF]).split(' ');
    return { id, enabled: enabled === 'true' };
  } catch {
    return undefined;
  }
}

function ipOf(container: string): string {
  return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${NET}").IPAddress}}`, container]);
}

function run(name: string): string {
  docker(['run', '-d', '--name', name, '--stop-timeout', '1', '--network', NET, IMAGE, 'sleep', '3600']);
  const ip = ipOf(name);
  assert.match(ip, /^10\.231\.177\.\d+$/, `${name} got an address from the plugin network`);
  return ip;
}

function ping(from: string, ip: string): void {
  const out = docker(['exec', from, 'ping', '-c', '2', '-W', '2', ip], 30_000);
  assert.match(out, /2 packets received|, 0% packet loss/, `${from} -> ${ip}: ${out}`);
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (ok()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** The driver keeps one file per network: networks/<id>.json in its state directory. */
function storeHasNetwork(netId: string): boolean {
  const file = path.join(STATE_DIR, 'networks', `${netId}.json`);
  return fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(netId);
}

function cleanup(): void {
  for (const c of CONTAINERS) quiet(() => docker(['rm', '-f', c]));
  quiet(() => docker(['network', 'rm', NET]));
}

describe(`managed plugin ${REF}`, function () {
  this.timeout(600_000);
  let installedHere = false;
  let netId = '';
  const ips: Record<string, string> = {};

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('missing prerequisite: the managed-plugin tests install a plugin and need root');
    try {
      sh('bash', ['scripts/ensure-docker.sh']);
    } catch (e) {
      throw new Error(`missing prerequisite: dockerd is not running and could not be started (scripts/ensure-docker.sh): ${e}`);
    }
    sh('bash', ['scripts/make-test-image.sh']);
    const routes = sh('ip', ['route']);
    assert.ok(!routes.includes('10.231.177.'), `test subnet ${SUBNET} overlaps a host route`);
    cleanup();
    const st = pluginState();
    if (!st) {
      sh('bash', ['scripts/plugin.sh', 'install'], 900_000);
      installedHere = true;
    } else if (!st.enabled) {
      docker(['plugin', 'enable', REF]);
    }
  });

  after(function () {
    cleanup();
    if (installedHere) quiet(() => sh('bash', ['scripts/plugin.sh', 'remove'], 300_000));
  });

  it('is enabled as a network driver with only the capabilities it needs', () => {
    assert.equal(pluginState()?.enabled, true);
    const cfg = JSON.parse(docker(['plugin', 'inspect', '-f', '{{json .Config}}', REF])) as {
      Interface: { Types: string[]; Socket: string };
      Network: { Type: string };
      Linux: { Capabilities: string[] };
    };
    // A network driver, and the IPAM driver multi-host networks use (--ipam-driver tsnet).
    assert.deepEqual(cfg.Interface.Types, ['docker.networkdriver/1.0', 'docker.ipamdriver/1.0']);
    assert.equal(cfg.Interface.Socket, 'tsnet.sock');
    assert.equal(cfg.Network.Type, 'host');
    assert.deepEqual([...cfg.Linux.Capabilities].sort(), ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
  });

  it('creates a network whose containers ping each other', () => {
    netId = docker(['network', 'create', '-d', REF, '--subnet', SUBNET, NET]);
    ips.c1 = run('tstp-plugin-c1');
    ips.c2 = run('tstp-plugin-c2');
    ping('tstp-plugin-c1', ips.c2);
    ping('tstp-plugin-c2', ips.c1);
    assert.ok(storeHasNetwork(netId), `the network is persisted in ${STATE_DIR} on the host`);
  });

  it('upgrades in place: running containers keep working, state is intact, new containers join', () => {
    assert.ok(netId, 'needs the network of the previous test');
    const before = pluginState();
    sh('bash', ['scripts/plugin.sh', 'upgrade'], 900_000);
    const after = pluginState();
    assert.equal(after?.enabled, true);
    assert.notEqual(after?.id, before?.id, 'a new plugin version is in place');
    assert.equal(docker(['network', 'inspect', '-f', '{{.Id}} {{.Driver}}', NET]), `${netId} ${REF}`);
    assert.ok(storeHasNetwork(netId), 'the store still has the network');
    assert.equal(docker(['inspect', '-f', '{{.State.Running}}', 'tstp-plugin-c1']), 'true');
    ping('tstp-plugin-c1', ips.c2);
    ips.c3 = run('tstp-plugin-c3');
    ping('tstp-plugin-c3', ips.c1);
    ping('tstp-plugin-c2', ips.c3);
  });

  it('comes back enabled after a dockerd restart, and its networks work', async function () {
    assert.ok(netId, 'needs the network of the previous tests');
    const pid = Number(sh('pgrep', ['-x', 'dockerd']).split('\n')[0]);
    assert.ok(pid > 0, 'dockerd runs');
    process.kill(pid, 'SIGTERM');
    await waitFor('dockerd to exit', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 90_000);
    fs.rmSync('/var/run/docker.pid', { force: true });
    sh('bash', ['scripts/ensure-docker.sh'], 120_000);
    await waitFor(`${REF} to be enabled again`, () => pluginState()?.enabled === true, 60_000);
    assert.equal(docker(['network', 'inspect', '-f', '{{.Id}}', NET]), netId);
    // Without live-restore dockerd stopped the containers: start them again on the same network.
    docker(['start', 'tstp-plugin-c1', 'tstp-plugin-c2'], 120_000);
    ips.c1 = ipOf('tstp-plugin-c1');
    ips.c2 = ipOf('tstp-plugin-c2');
    ping('tstp-plugin-c1', ips.c2);
    ips.c4 = run('tstp-plugin-c4');
    ping('tstp-plugin-c4', ips.c1);
  });

  it('removes its containers and network cleanly', () => {
    cleanup();
    assert.throws(() => docker(['network', 'inspect', NET]));
    assert.ok(!storeHasNetwork(netId), 'the store forgot the removed network');
  });
});
