import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { fetchTsnetStatus, STATUS_PATH } from '../../docker/tsnet-status';

/** A minimal report in the shape of shared/src/status-schema.ts. */
const REPORT = { version: '0.1.0', pid: 1, startedAt: '2026-12-01T00:00:00.000Z', uptimeSeconds: 1, pluginSocket: '/run/docker/plugins/tsnet.sock', stateDir: '/var/lib/tsnet', firewallBackend: 'nftables', networks: [], calls: {}, warnings: [] };

describe('tsnet status client (HTTP over a Unix socket)', () => {
  let dir: string;
  let server: http.Server | undefined;
  const requests: string[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-status-'));
  });
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const sock = path.join(dir, 'status.sock');
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      handler(req, res);
    });
    await new Promise<void>((r) => server!.listen(sock, r));
    return sock;
  }

  it('reads the StatusReport with GET /status', async () => {
    const sock = await serve((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(REPORT));
    });
    const r = await fetchTsnetStatus(sock);
    assert.strictEqual(STATUS_PATH, '/status');
    assert.deepStrictEqual(requests.slice(-1), ['GET /status']);
    assert.ok(r.reachable);
    assert.strictEqual(r.reachable && r.report.version, '0.1.0');
  });

  it('is "not reachable" when the socket is absent', async () => {
    const r = await fetchTsnetStatus(path.join(dir, 'missing.sock'));
    assert.deepStrictEqual(r, { reachable: false, reason: `${path.join(dir, 'missing.sock')} does not exist (tsnet driver not running here)` });
  });

  it('is "not reachable" on an HTTP error or a body that is not a report', async () => {
    let mode = 'error';
    const sock = await serve((_req, res) => {
      if (mode === 'error') {
        res.statusCode = 500;
        res.end('boom');
      } else if (mode === 'garbage') res.end('{not json');
      else res.end('{"hello":1}');
    });
    const e = await fetchTsnetStatus(sock);
    assert.match(!e.reachable ? e.reason : '', /answered HTTP 500/);
    mode = 'garbage';
    const g = await fetchTsnetStatus(sock);
    assert.match(!g.reachable ? g.reason : '', /invalid JSON/);
    mode = 'other';
    const o = await fetchTsnetStatus(sock);
    assert.match(!o.reachable ? o.reason : '', /answered GET \/status in a form this client \(tsnet \d+\.\d+\.\d+\) cannot read \(version: .*\); the driver does not say its version/);
  });

  it('names the side to update when the driver is newer or older than the extension', async () => {
    let version = '9.0.0';
    const sock = await serve((_req, res) => res.end(JSON.stringify({ ...REPORT, version, networks: [{ id: 'n1' }] })));
    const newer = await fetchTsnetStatus(sock);
    assert.match(!newer.reachable ? newer.reason : '', /\(networks\.0\.bridge: .*\): the driver is newer \(9\.0\.0\); update this client to 9\.0\.0/);
    version = '0.0.1';
    const older = await fetchTsnetStatus(sock);
    assert.match(!older.reachable ? older.reason : '', /the driver is older \(0\.0\.1\); restart it from this version/);
  });

  it('gives up after the timeout when the driver hangs', async () => {
    const sock = await serve(() => undefined);
    const started = Date.now();
    const r = await fetchTsnetStatus(sock, 200);
    assert.strictEqual(r.reachable, false);
    assert.ok(Date.now() - started < 2000);
    server?.closeAllConnections();
  });
});
