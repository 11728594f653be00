import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cliEnv, contextDirName, DEFAULT_DOCKER_HOST, dockerodeOptions, EndpointError, resolveEndpoint, type EndpointInputs } from '../../docker/endpoint';
import { sshArgs } from '../../docker/ssh-agent';

/** A made-up home with a docker CLI config folder, as `docker context create/use` leave it. */
function home(contexts: Record<string, { host: string; skipTls?: boolean; tls?: boolean }>, current?: string): string {
  const h = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-endpoint-'));
  const d = path.join(h, '.docker');
  fs.mkdirSync(d);
  if (current !== undefined) fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ auths: {}, currentContext: current }));
  for (const [name, c] of Object.entries(contexts)) {
    const meta = path.join(d, 'contexts', 'meta', contextDirName(name));
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: c.host, SkipTLSVerify: !!c.skipTls } } }));
    if (c.tls) {
      const tls = path.join(d, 'contexts', 'tls', contextDirName(name), 'docker');
      fs.mkdirSync(tls, { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(tls, f), `${name} ${f}`);
    }
  }
  return h;
}

const readFile = (f: string) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};
const inputs = (h: string, env: Record<string, string> = {}, setting?: string): EndpointInputs => ({ home: h, env, setting, readFile });

describe('Docker endpoint resolution (as the docker CLI does it)', () => {
  const homes: string[] = [];
  const mk = (...a: Parameters<typeof home>) => {
    const h = home(...a);
    homes.push(h);
    return h;
  };
  after(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

  it('the context directory is sha256 of the name (what the CLI writes)', () => {
    // `docker context create colima`: ~/.docker/contexts/meta/<this>/meta.json
    assert.strictEqual(contextDirName('default'), '37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f');
  });

  it('no setting, no environment, no config: the default socket', () => {
    const e = resolveEndpoint(inputs(mk({})));
    assert.deepStrictEqual([e.host, e.source], [DEFAULT_DOCKER_HOST, 'default']);
    assert.deepStrictEqual(dockerodeOptions(e), { socketPath: '/var/run/docker.sock' });
  });

  it('the current context of config.json (docker context use)', () => {
    const h = mk({ colima: { host: 'unix:///home/u/.colima/default/docker.sock' } }, 'colima');
    const e = resolveEndpoint(inputs(h));
    assert.deepStrictEqual([e.host, e.source, e.context, e.label], ['unix:///home/u/.colima/default/docker.sock', 'docker context', 'colima', 'context colima']);
    assert.deepStrictEqual(dockerodeOptions(e), { socketPath: '/home/u/.colima/default/docker.sock' });
  });

  it('currentContext "default" is the default endpoint', () => {
    assert.strictEqual(resolveEndpoint(inputs(mk({}, 'default'))).source, 'default');
  });

  it('DOCKER_CONTEXT beats config.json; DOCKER_HOST beats both; the setting beats everything', () => {
    const h = mk({ colima: { host: 'unix:///colima.sock' }, rootless: { host: 'unix:///run/user/1000/docker.sock' } }, 'colima');
    assert.strictEqual(resolveEndpoint(inputs(h, { DOCKER_CONTEXT: 'rootless' })).host, 'unix:///run/user/1000/docker.sock');
    assert.strictEqual(resolveEndpoint(inputs(h, { DOCKER_CONTEXT: 'rootless', DOCKER_HOST: 'tcp://10.0.0.5:2375' })).source, 'DOCKER_HOST');
    const s = resolveEndpoint(inputs(h, { DOCKER_HOST: 'tcp://10.0.0.5:2375' }, 'unix:///setting.sock'));
    assert.deepStrictEqual([s.host, s.source], ['unix:///setting.sock', 'setting']);
    const byName = resolveEndpoint(inputs(h, { DOCKER_HOST: 'tcp://10.0.0.5:2375' }, 'rootless'));
    assert.deepStrictEqual([byName.host, byName.source, byName.context], ['unix:///run/user/1000/docker.sock', 'setting', 'rootless']);
  });

  it('DOCKER_CONFIG moves the config folder', () => {
    const h = mk({ remote: { host: 'tcp://192.0.2.10:2375' } }, 'remote');
    const e = resolveEndpoint({ home: '/nonexistent', env: { DOCKER_CONFIG: path.join(h, '.docker') }, readFile });
    assert.strictEqual(e.host, 'tcp://192.0.2.10:2375');
    assert.deepStrictEqual(dockerodeOptions(e), { protocol: 'http', host: '192.0.2.10', port: 2375 });
  });

  it("a TLS context carries its certificates and verifies unless the context says to skip", () => {
    const h = mk({ secure: { host: 'tcp://engine.example:2376', tls: true }, lax: { host: 'tcp://engine.example:2376', tls: true, skipTls: true } }, 'secure');
    const e = resolveEndpoint(inputs(h));
    assert.deepStrictEqual(e.tls, { ca: 'secure ca.pem', cert: 'secure cert.pem', key: 'secure key.pem', verify: true });
    assert.deepStrictEqual(dockerodeOptions(e), { protocol: 'https', host: 'engine.example', port: 2376, ca: 'secure ca.pem', cert: 'secure cert.pem', key: 'secure key.pem' });
    assert.strictEqual(resolveEndpoint(inputs(h, { DOCKER_CONTEXT: 'lax' })).tls?.verify, false);
  });

  it('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH with DOCKER_HOST', () => {
    const h = mk({ secure: { host: 'tcp://x:2376', tls: true } });
    const certs = path.join(h, '.docker', 'contexts', 'tls', contextDirName('secure'), 'docker');
    const e = resolveEndpoint(inputs(h, { DOCKER_HOST: 'tcp://engine:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }));
    assert.strictEqual(dockerodeOptions(e).protocol, 'https');
    assert.strictEqual(dockerodeOptions(e).ca, 'secure ca.pem');
  });

  it('ssh:// endpoints become the ssh command line of `docker system dial-stdio`', () => {
    const h = mk({ box: { host: 'ssh://deploy@build-box:2222' } }, 'box');
    const o = dockerodeOptions(resolveEndpoint(inputs(h)));
    assert.deepStrictEqual(o, { protocol: 'ssh', host: 'build-box', port: 2222, username: 'deploy' });
    assert.deepStrictEqual(sshArgs({ host: o.host!, port: o.port, username: o.username }), ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-l', 'deploy', '-p', '2222', '--', 'build-box', 'docker', 'system', 'dial-stdio']);
    assert.throws(() => sshArgs({ host: '-oProxyCommand=touch /tmp/x' }), /would not take as a host name/);
  });

  it('clear errors: a missing context, a context without a docker endpoint, a host that is not a URL', () => {
    const h = mk({ empty: { host: '' } }, 'gone');
    assert.throws(() => resolveEndpoint(inputs(h)), (e: Error) => e instanceof EndpointError && /Docker context "gone" \(from docker context\) does not exist/.test(e.message) && /docker context ls/.test(e.message));
    assert.throws(() => resolveEndpoint(inputs(h, { DOCKER_CONTEXT: 'empty' })), /has no docker endpoint/);
    assert.throws(() => resolveEndpoint(inputs(h, { DOCKER_HOST: 'localhost:2375' })), /not a URL the extension accepts: unix:\/\/\/path\/docker.sock, tcp:\/\/host:2376, ssh:\/\/user@host/);
  });

  it('a broken config.json is ignored as the CLI would fall back (default endpoint)', () => {
    const h = mk({});
    fs.writeFileSync(path.join(h, '.docker', 'config.json'), '{not json');
    assert.strictEqual(resolveEndpoint(inputs(h)).source, 'default');
  });

  it('a shell terminal reaches the same engine: the setting becomes DOCKER_CONTEXT / DOCKER_HOST for the docker CLI', () => {
    const h = mk({ colima: { host: 'unix:///colima.sock' } });
    assert.deepStrictEqual(cliEnv(resolveEndpoint(inputs(h, {}, 'colima'))), { DOCKER_CONTEXT: 'colima' });
    assert.deepStrictEqual(cliEnv(resolveEndpoint(inputs(h, {}, 'tcp://10.0.0.5:2375'))), { DOCKER_HOST: 'tcp://10.0.0.5:2375' });
    assert.strictEqual(cliEnv(resolveEndpoint(inputs(h, { DOCKER_HOST: 'tcp://x:1' }))), undefined, 'the CLI reads DOCKER_HOST itself');
  });
});
