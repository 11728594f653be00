/**
 * What the enabled managed plugin may do, read from the kernel: the driver process's threads hold
 * only NET_ADMIN, NET_RAW and CHOWN; in its mount namespace only /proc/sys/net is writable (all of
 * /sys stays read-only) and Docker's netns directory is not mounted; the status
 * socket belongs to the host's docker group (0660), so a docker-group member runs `tsnet status`;
 * and the `tsnet` command inside the plugin's rootfs runs on the host without a clone.
 * Needs the plugin installed and enabled (scripts/test-plugin.sh does that).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLUGIN_NAME, PLUGIN_REF, PLUGIN_STATUS_SOCKET, PLUGIN_TAG, pluginPid } from '../helpers/plugin';

const REPO = path.resolve(__dirname, '..', '..', '..');
const NAME = PLUGIN_NAME;
const REF = PLUGIN_REF;
const STATUS_SOCKET = PLUGIN_STATUS_SOCKET;
const STATE_DIR = process.env.TSNET_PLUGIN_STATE_DIR ?? `/var/lib/${NAME}`;
const PLUGIN_DIR = `${process.env.TSNET_PLUGIN_WORKDIR ?? '/var/tmp/tsnet-plugin'}/${NAME}-${PLUGIN_TAG}`;
/** CAP_CHOWN (0), CAP_NET_ADMIN (12), CAP_NET_RAW (13). */
const KEPT = (1n << 0n) | (1n << 12n) | (1n << 13n);

const docker = (args: string[]) => execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();

function mountOptions(pid: number): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean)) {
    const f = line.split(' ');
    m.set(f[4], f[5].split(','));
  }
  return m;
}

describe(`managed plugin ${REF}: privileges, status socket group, CLI without a clone`, function () {
  this.timeout(120_000);
  let pid: number;
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('missing prerequisite: needs root');
    assert.equal(docker(['plugin', 'inspect', '-f', '{{.Enabled}}', REF]), 'true', `${REF} is not enabled`);
    pid = pluginPid();
  });

  it('every thread of the driver holds only NET_ADMIN, NET_RAW and CHOWN (CAP_SYS_ADMIN dropped after set-up)', function () {
    const tasks = fs.readdirSync(`/proc/${pid}/task`);
    assert.ok(tasks.length > 1);
    for (const t of tasks) {
      const status = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      for (const set of ['CapPrm', 'CapEff', 'CapBnd']) {
        const hex = new RegExp(`^${set}:\\s+([0-9a-f]+)$`, 'm').exec(status)?.[1];
        assert.equal(BigInt(`0x${hex}`), KEPT, `thread ${t}: ${set} ${hex}`);
      }
    }
  });

  it('only /proc/sys/net is writable, /sys stays read-only; no netns mount', function () {
    const m = mountOptions(pid);
    assert.ok(m.get('/proc/sys')?.includes('ro'), `/proc/sys: ${m.get('/proc/sys')}`);
    assert.ok(m.get('/proc/sys/net')?.includes('rw'), `/proc/sys/net: ${m.get('/proc/sys/net')}`);
    assert.ok(m.get('/sys')?.includes('ro'), `/sys: ${m.get('/sys')}`);
    assert.ok(!m.has('/sys/devices/virtual/net'), `/sys/devices/virtual/net is a mount of its own: ${m.get('/sys/devices/virtual/net')}`);
    assert.ok(!m.has('/var/run/docker/netns') && !m.has('/run/docker/netns'), 'Docker\'s netns directory is mounted');
    const cfg = JSON.parse(docker(['plugin', 'inspect', '-f', '{{json .Config.Mounts}}', REF])) as { Name: string }[];
    assert.deepEqual(cfg.map((x) => x.Name).sort(), ['host-run', 'host-var-lib']);
    // The whole host trees serve only the start: the driver keeps its two directories alone.
    assert.ok(![...m.keys()].some((p) => p === '/host/run' || p.startsWith('/host/run/') || p.startsWith('/host/var/lib')), `host trees still mounted: ${[...m.keys()].filter((p) => p.startsWith('/host'))}`);
    assert.ok(m.has(path.dirname(STATUS_SOCKET)), 'the status directory is a mount');
    assert.ok(m.has(STATE_DIR), 'the state directory is a mount');
  });

  it('the status socket is 0660 for the host\'s docker group; a docker-group member runs tsnet status', function () {
    const gid = Number(execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2]);
    const st = fs.statSync(STATUS_SOCKET);
    assert.equal(st.gid, gid);
    assert.equal(st.mode & 0o777, 0o660);
    const cli = path.join(REPO, 'driver', 'dist', 'cli', 'tsnet.js');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, process.execPath, cli, 'status', '--status-socket', STATUS_SOCKET], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tsnet \S+\s+pid \d+/);
  });

  it('the tsnet command in the plugin\'s rootfs runs on the host, as docs/plugin.md says', function () {
    const cmd = `sh "$(docker info -f '{{.DockerRootDir}}')/plugins/$(docker plugin inspect -f '{{.Id}}' ${REF})/rootfs/opt/tsnet/bin/tsnet" status --status-socket ${STATUS_SOCKET}`;
    const doc = fs.readFileSync(path.join(REPO, 'docs', 'plugin.md'), 'utf8');
    assert.ok(doc.includes(`sh "$(docker info -f '{{.DockerRootDir}}')/plugins/$(docker plugin inspect -f '{{.Id}}' tsnet:latest)/rootfs/opt/tsnet/bin/tsnet" status`), 'docs/plugin.md gives the command');
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tsnet \S+\s+pid \d+/);
    const json = spawnSync('sh', ['-c', `${cmd} --json`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(json.status, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { pid: number }).pid > 0, true);
    const v = spawnSync('sh', ['-c', cmd.replace(/ status --status-socket .*$/, ' --version')], { encoding: 'utf8', timeout: 60_000 });
    assert.match(v.stdout, /^tsnet \d+\.\d+\.\d+/);
  });

  describe('install on a host that has none of its directories (as from a registry)', function () {
    const ref = 'tstq-absent:latest';
    const state = '/var/lib/tstq-absent/state';
    const statusDir = '/run/tstq-absent';
    // Docker refuses a second plugin whose rootfs has the same content: a copy with one more file.
    const dir = `${PLUGIN_DIR}-tstq`;
    const clean = () => {
      for (const args of [['plugin', 'disable', '-f', ref], ['plugin', 'rm', '-f', ref]]) spawnSync('docker', args, { timeout: 60_000 });
      fs.rmSync('/var/lib/tstq-absent', { recursive: true, force: true });
      fs.rmSync(statusDir, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    };
    before(clean);
    after(clean);

    it('docker plugin create + set + enable from the built plugin dir creates the state and status directories', async function () {
      assert.ok(fs.existsSync(`${PLUGIN_DIR}/config.json`), `no plugin dir at ${PLUGIN_DIR} (scripts/plugin.sh build makes it)`);
      assert.ok(!fs.existsSync('/var/lib/tstq-absent') && !fs.existsSync(statusDir));
      execFileSync('cp', ['-a', PLUGIN_DIR, dir]);
      fs.writeFileSync(`${dir}/rootfs/etc/tstq-copy`, 'a copy for the absent-directories test\n');
      docker(['plugin', 'create', ref, dir]);
      docker(['plugin', 'set', ref, `TSNET_STATE_DIR=${state}`, `TSNET_STATUS_SOCKET=${statusDir}/status.sock`]);
      docker(['plugin', 'enable', ref]);
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(`${statusDir}/status.sock`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(fs.statSync(state).mode & 0o777, 0o700);
      assert.ok(fs.statSync(`${statusDir}/status.sock`).isSocket());
      const cli = path.join(REPO, 'driver', 'dist', 'cli', 'tsnet.js');
      const r = spawnSync(process.execPath, [cli, 'status', '--json', '--status-socket', `${statusDir}/status.sock`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { stateDir: string }).stateDir, state);
    });

    it('refuses a state directory outside /var/lib with a message naming the setting', function () {
      docker(['plugin', 'disable', '-f', ref]);
      docker(['plugin', 'set', ref, 'TSNET_STATE_DIR=/etc/tstq']);
      const r = spawnSync('docker', ['plugin', 'enable', '--timeout', '20', ref], { encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(r.status, 0, 'the plugin enabled with its state in /etc');
      assert.ok(!fs.existsSync('/etc/tstq'));
    });
  });
});
