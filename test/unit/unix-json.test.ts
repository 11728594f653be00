/**
 * shared/unix-json: the one "GET JSON over a Unix socket" client, used by the driver's Docker
 * client, the tsnet command's status client and the extension's status client.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { getUnixJson, STATUS_ROUTES } from '@tsnet/shared';

const repo = path.join(__dirname, '../../..');

describe('shared Unix-socket JSON client', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unix-json-'));
  const sock = path.join(dir, 's.sock');
  let server: http.Server;
  const seen: http.IncomingHttpHeaders[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/json') res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"a":[1,2]}');
      else if (req.url === '/error') res.writeHead(503).end('{"error":"busy"}');
      else if (req.url === '/text') res.writeHead(200).end('plain words');
      // '/silent': never answers
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('resolves every HTTP answer with its status, text and parsed JSON', async () => {
    assert.deepEqual(await getUnixJson(sock, '/json', { host: 'tsnet' }), { status: 200, text: '{"a":[1,2]}', json: { a: [1, 2] }, isJson: true });
    assert.equal(seen.at(-1)?.host, 'tsnet');
    assert.equal(seen.at(-1)?.accept, 'application/json');
    assert.deepEqual(await getUnixJson(sock, '/error'), { status: 503, text: '{"error":"busy"}', json: { error: 'busy' }, isJson: true });
    assert.deepEqual(await getUnixJson(sock, '/text'), { status: 200, text: 'plain words', json: undefined, isJson: false });
  });

  it('rejects with the socket\'s error code, or ETIMEDOUT', async () => {
    await assert.rejects(getUnixJson(path.join(dir, 'absent.sock'), '/json'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    await assert.rejects(getUnixJson(sock, '/silent', { timeoutMs: 100 }), (e: NodeJS.ErrnoException) => e.code === 'ETIMEDOUT' && e.message === `no answer from ${sock} within 100 ms`);
  });

  it('the Docker client, the CLI\'s and the extension\'s status and link clients use it (none speaks node:http itself)', () => {
    for (const f of ['driver/src/docker/client.ts', 'driver/src/cli/status-client.ts', 'extension/src/docker/tsnet-status.ts', 'extension/src/docker/link-stats.ts']) {
      const src = fs.readFileSync(path.join(repo, f), 'utf8');
      assert.doesNotMatch(src, /from '(node:)?http'/, f);
      assert.match(src, /getUnixJson\(/, f);
    }
  });

  it('the status server and its clients name routes from STATUS_ROUTES', () => {
    const server = fs.readFileSync(path.join(repo, 'driver/src/status/server.ts'), 'utf8');
    for (const route of Object.keys(STATUS_ROUTES)) assert.match(server, new RegExp(`app\\.get\\(STATUS_ROUTES\\.${route}\\b`), route);
    assert.match(fs.readFileSync(path.join(repo, 'driver/src/cli/status-client.ts'), 'utf8'), /STATUS_ROUTES\.status/);
  });
});
