import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { StatusClient } from '@tsnet/driver/dist/cli/status-client';
import { parseStatusReport, statusReportSchema } from '@tsnet/shared';

const REPORT = { version: '0.1.0', pid: 1, startedAt: '2026-12-01T00:00:00.000Z', uptimeSeconds: 1, pluginSocket: '/p.sock', stateDir: '/s', firewallBackend: 'nftables', networks: [], calls: {}, warnings: [] };

describe('status API schemas (shared/status-schema) and the CLI on a driver of another version', () => {
  let dir: string;
  let server: http.Server;
  let body: unknown;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tst-skew-'));
    server = http.createServer((req, res) => res.end(JSON.stringify(body)));
    await new Promise<void>((r) => server.listen(path.join(dir, 's.sock'), r));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a report of this version passes; extra fields of a newer driver are allowed', () => {
    assert.equal(parseStatusReport({ ...REPORT, somethingNew: 1 }, 'x', '0.1.0').pid, 1);
    assert.equal(statusReportSchema.safeParse({ ...REPORT, firewallBackend: 'ebpf' }).success, false);
  });

  it('tsnet status against an older driver says which field and what to restart', async () => {
    body = { ...REPORT, version: '0.0.9', networks: [{ id: 'n', bridge: 'b' }] };
    const sock = path.join(dir, 's.sock');
    await assert.rejects(new StatusClient(sock).status(), (e: Error) => {
      assert.match(e.message, new RegExp(`^the tsnet driver at ${sock.replace(/[.]/g, '\\.')} answered GET /status in a form this client \\(tsnet \\S+\\) cannot read \\(networks\\.0\\.bridgeAdopted: .*\\): the driver is older \\(0\\.0\\.9\\); restart it from this version \\(npm start, or npm run plugin:upgrade for the plugin\\)$`));
      return true;
    });
  });

  it('tsnet ports against a driver whose /ports changed shape', async () => {
    body = [{ proto: 'tcp', hostPort: '80' }];
    await assert.rejects(new StatusClient(path.join(dir, 's.sock')).ports(), /answered GET \/ports in a form this client .* cannot read \(0\.hostIP: /);
  });
});
