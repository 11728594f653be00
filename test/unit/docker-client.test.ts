/**
 * The driver's Docker client fails with its own DockerError (the driver package's docker/ layer
 * imports nothing from cli/), naming what went wrong.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerClient, DockerError } from '@tsnet/driver/dist/docker/client';

describe('Docker client errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-docker-client-'));
  const sock = path.join(dir, 'docker.sock');
  let server: http.Server;

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/networks/missing') {
        res.writeHead(404).end('{"message":"not found"}');
      } else if (req.url === '/networks/broken') {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"daemon is sad"}');
      } else {
        res.writeHead(200).end('this is not json');
      }
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a missing socket is a DockerError saying Docker is not running', async () => {
    const c = new DockerClient(path.join(dir, 'absent.sock'));
    await assert.rejects(c.listContainers(), (e: unknown) => e instanceof DockerError && e.status === undefined && /Docker is not running \(no socket at /.test(e.message));
  });

  it('an error status is a DockerError with the status and Docker\'s message', async () => {
    const c = new DockerClient(sock);
    await assert.rejects(c.inspectNetwork('broken'), (e: unknown) => e instanceof DockerError && e.status === 500 && /Docker answered 500 to GET \/networks\/broken: daemon is sad/.test(e.message));
  });

  it('404 is "none", and a body that is not JSON is a DockerError', async () => {
    const c = new DockerClient(sock);
    assert.equal(await c.inspectNetwork('missing'), undefined);
    await assert.rejects(c.inspectNetwork('other'), (e: unknown) => e instanceof DockerError && /not JSON/.test(e.message));
  });

  it('docker/client.ts imports nothing from cli/', () => {
    const src = fs.readFileSync(path.join(__dirname, '../../../driver/src/docker/client.ts'), 'utf8');
    assert.doesNotMatch(src, /from '\.\.\/cli\//);
  });
});
