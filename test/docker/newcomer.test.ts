/**
 * The newcomer's path, as the README gives it, in a scratch clone of this repository: `npm start`,
 * the demo it prints (network, a web container with -p, a request to the published port),
 * `npx tsnet status`, `npm test` (its unit suite, so the run stays bounded) and `npm stop`. Every
 * command, its exit code and its output go to test-artifacts/newcomer/transcript.md.
 *
 * So that it never disturbs a driver the user runs, the scratch driver has its own name
 * (tsnetnew: `-d tsnet` in the README becomes `-d tsnetnew`), state, status socket, log and pid
 * file, given through the environment variables the driver and scripts/start-driver.sh read.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { IMAGE, REPO, freeSubnet } from '../helpers/docker';

const NAME = 'tsnetnew';
const ARTIFACTS = path.join(REPO, 'test-artifacts', 'newcomer');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.once('error', reject);
  });
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.end('GET / HTTP/1.0\r\n\r\n'));
    let body = '';
    c.setTimeout(5000, () => c.destroy(new Error('timeout')));
    c.on('data', (d: Buffer) => (body += d.toString()));
    c.on('end', () => resolve(body));
    c.on('error', reject);
  });
}

describe('newcomer transcript: fresh clone → npm start → demo → npx tsnet status → npm test → npm stop', function () {
  this.timeout(1_200_000);
  let tmp: string;
  let clone: string;
  const transcript: string[] = [];
  let env: NodeJS.ProcessEnv;

  function run(command: string, timeoutMs = 600_000): { code: number; out: string } {
    const r = spawnSync('bash', ['-c', command], { cwd: clone, env, encoding: 'utf8', timeout: timeoutMs });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const code = r.status ?? -1;
    transcript.push(`$ ${command}`, '```', out.trimEnd().split('\n').slice(-60).join('\n'), '```', `exit ${code}`, '');
    return { code, out };
  }

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tst-newcomer-'));
    clone = path.join(tmp, 'tsnet');
    env = {
      ...process.env,
      TSNET_SOCKET: `/run/docker/plugins/${NAME}.sock`,
      TSNET_STATE_DIR: path.join(tmp, 'state'),
      TSNET_STATUS_SOCKET: `/run/tsnet/${NAME}-status.sock`,
      TSNET_LOG_FILE: path.join(tmp, 'tsnet.log'),
      TSNET_PIDFILE: path.join(tmp, 'tsnet.pid'),
    };
    for (const k of Object.keys(env)) if (k.startsWith('npm_') || k === 'INIT_CWD') delete env[k];
    const r = spawnSync('git', ['clone', '-q', REPO, clone], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    transcript.push(`# Newcomer transcript (${new Date().toISOString()})`, '', `Scratch clone of ${REPO} at ${spawnSync('git', ['-C', clone, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim()}; driver name ${NAME} (the README's \`-d tsnet\`).`, '');
  });

  after(function () {
    spawnSync('docker', ['rm', '-f', 'tstn-web'], { timeout: 60_000 });
    spawnSync('docker', ['network', 'rm', 'tstn-demo'], { timeout: 60_000 });
    if (clone && fs.existsSync(path.join(clone, 'scripts', 'stop-driver.sh'))) spawnSync('bash', [path.join(clone, 'scripts', 'stop-driver.sh'), '--quiet'], { env, timeout: 30_000 });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'transcript.md'), `${transcript.join('\n')}\n`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs the README\'s path end to end and writes the transcript', async function () {
    const start = run('npm start');
    assert.equal(start.code, 0, start.out);
    assert.match(start.out, /tsnet is running/);
    assert.match(start.out, /npx tsnet status/);

    const subnet = freeSubnet().v4;
    const port = await freePort();
    let r = run(`docker network create -d ${NAME} --subnet ${subnet} tstn-demo`);
    assert.equal(r.code, 0, r.out);
    r = run(`docker run -d --name tstn-web --network tstn-demo -p ${port}:80 ${IMAGE} httpd -f -p 80 -h /www`);
    assert.equal(r.code, 0, r.out);
    let page = '';
    for (let i = 0; i < 50 && !page.includes('tsnet test page'); i++) {
      page = await get(port).catch(() => '');
      if (!page.includes('tsnet test page')) await new Promise((res) => setTimeout(res, 200));
    }
    transcript.push(`$ curl http://127.0.0.1:${port}/`, '```', page.trim(), '```', '');
    assert.match(page, /tsnet test page/);

    r = run('npx tsnet status');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^NETWORKS/m);
    assert.ok(r.out.includes('tstn-demo'), r.out);

    // Nested in this suite's run, whose drivers own the kernel objects: the outer run checks leftovers.
    r = run('TSNET_SUITES=unit TSNET_CHECK_LEFTOVERS=0 npm test', 900_000);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^\d+ passed, 0 failed$/m);

    run('docker rm -f tstn-web && docker network rm tstn-demo');
    r = run('npm stop');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /stopped the driver/);
  });
});
