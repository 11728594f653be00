/**
 * Endpoint resolution against the real docker CLI's files, and the ssh:// transport against the
 * real dockerd (with a local stand-in for `ssh host docker system dial-stdio`: a process that joins
 * its stdin/stdout to /var/run/docker.sock, which is what dial-stdio does on the remote side).
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Docker from 'dockerode';
import { resolveEndpoint } from '../../docker/endpoint';
import { DockerClient } from '../../docker/client';
import { DialStdioAgent } from '../../docker/ssh-agent';

const readFile = (f: string) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};

describe('Docker endpoint (real docker CLI files, real dockerd)', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ctx-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a context the docker CLI created and selected (docker context create / use)', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: dir };
    delete env.DOCKER_HOST;
    delete env.DOCKER_CONTEXT;
    execFileSync('docker', ['context', 'create', 'tsnet-test-ctx', '--docker', 'host=unix:///var/run/docker.sock'], { env, stdio: 'pipe' });
    execFileSync('docker', ['context', 'use', 'tsnet-test-ctx'], { env, stdio: 'pipe' });
    const e = resolveEndpoint({ env: { DOCKER_CONFIG: dir }, readFile });
    assert.deepStrictEqual([e.host, e.source, e.context], ['unix:///var/run/docker.sock', 'docker context', 'tsnet-test-ctx']);
  });

  it('the client for that context reads the engine', async () => {
    const e = resolveEndpoint({ env: { DOCKER_CONFIG: dir }, readFile });
    const client = new DockerClient(undefined, e);
    const snap = await client.snapshot('all');
    assert.ok(snap.engineVersion, 'the engine answered /version');
    assert.ok(snap.networks.some((n) => n.Name === 'bridge'));
  });

  it('ssh:// transport: HTTP over the stdio of a dial-stdio process reaches the engine', async () => {
    const standIn = path.join(dir, 'dial-stdio.js');
    fs.writeFileSync(standIn, "const s=require('net').connect('/var/run/docker.sock');process.stdin.pipe(s);s.pipe(process.stdout);s.on('end',()=>process.exit(0));");
    const docker = new Docker({ protocol: 'http', host: 'docker', port: 80, agent: new DialStdioAgent([standIn], process.execPath) } as Docker.DockerOptions);
    const v = (await docker.version()) as { ApiVersion?: string };
    assert.ok(v.ApiVersion, 'version over dial-stdio');
    const nets = await docker.listNetworks();
    assert.ok(nets.some((n) => n.Name === 'bridge'));
  });

  it('ssh:// transport: a failing ssh is an error naming the command and its stderr', async () => {
    const agent = new DialStdioAgent(['-e', "process.stderr.write('Permission denied (publickey).');process.exit(255)"], process.execPath);
    const docker = new Docker({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions);
    await assert.rejects(() => docker.version(), /exited with 255: Permission denied \(publickey\)/);
  });
});
