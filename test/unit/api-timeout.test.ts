/**
 * The remote-API app answers {"Err": "... timed out ..."} when the core does not finish in time
 * (a stuck kernel call must not hang dockerd, whose plugin client has no timeout), and other
 * requests are still served meanwhile.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp } from '@tsnet/driver/dist/api/app';
import { Metrics } from '@tsnet/driver/dist/core/metrics';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function post(socketPath: string, method: string, body: unknown, rawBody?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = rawBody ?? JSON.stringify(body);
    const req = http.request({ socketPath, method: 'POST', path: `/${method}`, headers: { 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('remote API: per-request timeout and empty bodies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-api-'));
  const sock = path.join(dir, 'p.sock');
  let server: http.Server;
  let late: (() => void) | undefined;

  before(async () => {
    const stuck = {
      // Never finishes until the test lets it (a kernel call that hangs).
      deleteNetwork: () => new Promise<void>((resolve) => (late = resolve)),
      leave: () => Promise.reject(new Error('boom')),
    };
    const app = createApp(stuck as never, new Metrics(), quiet, { requestTimeoutMs: 300 });
    server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(sock, () => resolve(s));
    });
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers a stuck request with a timed-out Err, and keeps serving others', async () => {
    const t0 = Date.now();
    const pending = post(sock, 'NetworkDriver.DeleteNetwork', { NetworkID: 'abc' });
    const caps = await post(sock, 'NetworkDriver.GetCapabilities', {});
    assert.deepEqual(caps.body, { Scope: 'local', ConnectivityScope: 'local' });
    const r = await pending;
    const ms = Date.now() - t0;
    assert.equal(r.status, 200);
    assert.match(String(r.body.Err), /DeleteNetwork: timed out after 0\.3 s/);
    assert.ok(ms >= 280 && ms < 3000, `answered after ${ms} ms`);
    late?.(); // finishing afterwards is harmless
  });

  it('names the empty body dockerd re-sends when it retries after a driver restart', async () => {
    const r = await post(sock, 'NetworkDriver.Join', undefined, '');
    assert.match(String(r.body.Err), /Join: the request body is empty; dockerd sends an empty body when it retries/);
    const caps = await post(sock, 'NetworkDriver.GetCapabilities', undefined, '');
    assert.deepEqual(caps.body, { Scope: 'local', ConnectivityScope: 'local' });
  });

  it('still maps a failure to Err before the deadline', async () => {
    const r = await post(sock, 'NetworkDriver.Leave', { NetworkID: 'a', EndpointID: 'b' });
    assert.deepEqual(r.body, { Err: 'boom' });
  });
});
