/**
 * The supervised host-process driver (scripts/service.sh, npm stop, npm start's log): systemd is
 * not PID 1 on the test machines, so the units are checked with `systemd-analyze verify`, and the
 * unit's exact ExecStart command line is run under `systemd-socket-activate` (the socket handed
 * over as systemd would), with its own state, status socket and plugin socket paths.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');

function post(socketPath: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'POST', headers: { 'Content-Type': 'application/json' }, timeout: 20_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function unitValue(unit: string, key: string): string {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.ok(line, `no ${key}= in the unit`);
  return line.slice(key.length + 1);
}

describe('tsnet as a systemd service (service.sh), npm stop, npm start\'s log', function () {
  this.timeout(120_000);
  let tmp: string;
  let child: ChildProcess | undefined;
  before(() => {
    for (const tool of ['systemd-analyze', 'systemd-socket-activate']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`missing prerequisite: ${tool} (apt-get install -y systemd; scripts/ensure-prereqs.sh installs it)`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tst-svc-'));
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'service.sh'), 'render', path.join(tmp, 'units')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the units pass systemd-analyze verify without a warning, and say what they promise', function () {
    const units = ['tsnet.socket', 'tsnet.service'].map((u) => path.join(tmp, 'units', u));
    const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze warned');
    const service = fs.readFileSync(units[1], 'utf8');
    const socket = fs.readFileSync(units[0], 'utf8');
    assert.equal(unitValue(socket, 'ListenStream'), '/run/docker/plugins/tsnet.sock');
    assert.equal(unitValue(socket, 'SocketMode'), '0600');
    assert.equal(unitValue(socket, 'Before'), 'docker.service');
    assert.equal(unitValue(service, 'Restart'), 'on-failure');
    assert.equal(unitValue(service, 'WantedBy'), 'multi-user.target');
    assert.equal(unitValue(service, 'Requires'), 'tsnet.socket');
    assert.ok(!/StandardOutput|StandardError/.test(service), 'the log goes to the journal (the default)');
  });

  it('a unit with a broken directive is caught by the same check (the check can fail)', function () {
    const broken = path.join(tmp, 'broken');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'tsnet.service'), fs.readFileSync(path.join(tmp, 'units', 'tsnet.service'), 'utf8').replace('Restart=on-failure', 'Restart=sometimes'));
    const r = spawnSync('systemd-analyze', ['verify', path.join(broken, 'tsnet.service')], { encoding: 'utf8', timeout: 60_000 });
    assert.match(r.stderr, /restart specifier/);
  });

  it('the unit\'s ExecStart, socket-activated, answers dockerd on the socket it was handed; npm stop stops it', async function () {
    const exec = unitValue(fs.readFileSync(path.join(tmp, 'units', 'tsnet.service'), 'utf8'), 'ExecStart').split(' ');
    const sock = path.join(tmp, 'plugin.sock');
    const env = { ...process.env, TSNET_SOCKET: sock, TSNET_STATE_DIR: path.join(tmp, 'state'), TSNET_STATUS_SOCKET: path.join(tmp, 'status.sock'), TSNET_LOG_LEVEL: 'info' };
    let log = '';
    // systemd-socket-activate passes only the variables named with -E (systemd sets the unit's Environment=).
    const passEnv = ['TSNET_SOCKET', 'TSNET_STATE_DIR', 'TSNET_STATUS_SOCKET', 'TSNET_LOG_LEVEL'].flatMap((k) => ['-E', k]);
    child = spawn('systemd-socket-activate', ['-l', sock, ...passEnv, ...exec], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    await waitFor(() => fs.existsSync(sock), 10_000, 'the activation socket');
    // dockerd may call before the driver has started: the kernel queues the connection.
    const activate = await post(sock, '/Plugin.Activate');
    assert.equal(activate.status, 200, activate.body);
    assert.deepEqual(JSON.parse(activate.body), { Implements: ['NetworkDriver'] });
    await waitFor(() => log.includes('tsnet driver ready'), 30_000, `the driver's ready line; log so far:\n${log}`);
    assert.match(log, /"socketActivated":true/);
    assert.ok(log.includes(`"stateDir":"${env.TSNET_STATE_DIR}"`), `the driver did not take the test's state directory: ${log}`);
    const pidfile = path.join(tmp, 'tsnet.pid');
    fs.writeFileSync(pidfile, String(child.pid));
    const stop = spawnSync('bash', [path.join(REPO, 'scripts', 'stop-driver.sh')], { encoding: 'utf8', env: { ...process.env, TSNET_PIDFILE: pidfile }, timeout: 30_000 });
    assert.equal(stop.status, 0, `${stop.stderr}\ndriver log:\n${log}`);
    assert.match(stop.stdout, /stopped the driver \(pid \d+\)/);
    await waitFor(() => child?.exitCode !== null, 10_000, 'the driver to exit');
    assert.equal(child.exitCode, 0, log);
    assert.ok(fs.existsSync(sock), 'the activated socket is systemd\'s: the driver leaves it');
  });

  it('npm start appends to its log instead of truncating it, and reads readiness from this start only', async function () {
    this.timeout(300_000);
    const logFile = path.join(tmp, 'tsnet.log');
    fs.writeFileSync(logFile, 'a line from an earlier start\n{"msg":"tsnet driver ready"}\n');
    const pidfile = path.join(tmp, 'start.pid');
    const env = { ...process.env, TSNET_LOG_FILE: logFile, TSNET_PIDFILE: pidfile };
    const args = ['--socket', path.join(tmp, 'start-plugin.sock'), '--state-dir', path.join(tmp, 'start-state'), '--status-socket', path.join(tmp, 'start-status.sock')];
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'start-driver.sh'), ...args], { cwd: REPO, encoding: 'utf8', env, timeout: 240_000 });
    try {
      assert.equal(r.status, 0, r.stderr);
      const text = fs.readFileSync(logFile, 'utf8');
      assert.ok(text.startsWith('a line from an earlier start\n'), 'the earlier log was truncated');
      assert.equal(text.split('tsnet driver ready').length - 1, 2, 'this start wrote its own ready line');
      assert.match(r.stdout, /Stop it with: npm stop/);
    } finally {
      const stop = spawnSync('bash', [path.join(REPO, 'scripts', 'stop-driver.sh')], { encoding: 'utf8', env, timeout: 30_000 });
      assert.equal(stop.status, 0, stop.stderr);
    }
  });
});
