/**
 * GET /links of the status API: the kernel's link counters (read from /sys/class/net), all links
 * or the named ones, moving when traffic flows (loopback traffic this test makes itself), and a
 * clear 400 for names that are not interface names.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Server } from 'node:http';
import type { LinkStatsReport } from '@tsnet/shared';
import { createStatusApp, listenStatus } from '@tsnet/driver/dist/status/server';
import { parseLinkNames } from '@tsnet/driver/dist/status/links';

function get(socketPath: string, p: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    http.get({ socketPath, path: p }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', reject);
  });
}

/** Sends `bytes` over a loopback TCP connection to a server of this test, and waits until received. */
function loopbackTraffic(bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const srv = net.createServer((s) => s.on('data', (d) => {
      got += d.length;
      if (got >= bytes) {
        s.destroy();
        srv.close();
        resolve();
      }
    }));
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1', () => c.end(Buffer.alloc(bytes, 1)));
      c.on('error', reject);
    });
  });
}

describe('status API: GET /links (link statistics)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-links-'));
  const sock = path.join(dir, 'status.sock');
  let server: Server;
  before(async () => {
    server = await listenStatus(createStatusApp(async () => { throw new Error('not used'); }), sock);
  });
  after(() => {
    server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every link of the namespace with its counters', async () => {
    // Other tests may add or remove links meanwhile: compare with listings taken before and after.
    const listedBefore = new Set(fs.readdirSync('/sys/class/net'));
    const r = await get(sock, '/links');
    const listedAfter = new Set(fs.readdirSync('/sys/class/net'));
    assert.equal(r.status, 200);
    const report = r.body as LinkStatsReport;
    assert.ok(!Number.isNaN(Date.parse(report.at)));
    const names = new Set(report.links.map((l) => l.name));
    for (const n of names) assert.ok(listedBefore.has(n) || listedAfter.has(n), `${n} is a link`);
    for (const n of listedBefore) if (listedAfter.has(n)) assert.ok(names.has(n), `${n} (there all along) is reported`);
    const lo = report.links.find((l) => l.name === 'lo')!;
    for (const k of ['rxBytes', 'txBytes', 'rxPackets', 'txPackets', 'rxDropped', 'txDropped', 'rxErrors', 'txErrors'] as const) assert.ok(Number.isInteger(lo[k]) && lo[k] >= 0, k);
  });

  it('the named links only (missing ones left out), and the counters move with traffic', async () => {
    const before = (await get(sock, '/links?names=lo,tsnetnosuchlnk')).body as LinkStatsReport;
    assert.deepEqual(before.links.map((l) => l.name), ['lo']);
    await loopbackTraffic(2_000_000);
    const after = (await get(sock, '/links?names=lo')).body as LinkStatsReport;
    assert.ok(after.links[0].txBytes - before.links[0].txBytes >= 2_000_000, `lo tx moved by ${after.links[0].txBytes - before.links[0].txBytes}`);
    assert.ok(after.links[0].rxPackets > before.links[0].rxPackets);
  });

  it('refuses names that are not interface names, saying what is accepted', async () => {
    for (const bad of ['../../etc', 'a/b', 'x'.repeat(16), '..', 'a b']) {
      const r = await get(sock, `/links?names=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.match((r.body as { error: string }).error, /is not an interface name \(1-15 characters, no '\/', ':' or whitespace\)/);
    }
    assert.throws(() => parseLinkNames(Array.from({ length: 5000 }, (_, i) => `v${i}`).join(',')), /at most 4096 names/);
    assert.throws(() => parseLinkNames(['a', 'b']), /one comma-separated list/);
  });
});
