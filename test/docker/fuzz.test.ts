/**
 * Issue 5, bad input and security: a separate driver (its own name and state dir) gets more than
 * 10,000 malformed, truncated, oversized, wrongly-typed, random and out-of-order requests on its
 * plugin socket. It must stay up, answer each with well-formed JSON carrying an `Err` string,
 * create nothing in the kernel, and keep its memory bounded. The PRNG is seeded (printed; set
 * TSNET_FUZZ_SEED to replay). TSNET_FUZZ_COUNT changes the number of requests.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { bridgeName, vethContainerName, vethHostName } from '@tsnet/shared';
import { DriverProcess, REPO, freeSubnet, hostLinks, linkExists, sh, sleep } from '../helpers/docker';

const COUNT = Number(process.env.TSNET_FUZZ_COUNT ?? 10_500);
const CONCURRENCY = 16;
const RSS_GROWTH_LIMIT_KB = 100 * 1024;
const RSS_STEADY_LIMIT_KB = 25 * 1024;

/** mulberry32: small, fast, reproducible. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, bool: () => next() < 0.5 };
}
type Rng = ReturnType<typeof prng>;

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function request(agent: http.Agent, socketPath: string, method: string, urlPath: string, body: Buffer | string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node's client sends a GET/DELETE/OPTIONS body with neither a length nor chunking.
    const length: Record<string, string> = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
    const req = http.request({ agent, socketPath, method, path: urlPath, headers: { 'Content-Type': 'application/vnd.docker.plugins.v1.2+json', ...length, ...headers }, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in 60 s to ${method} ${urlPath.slice(0, 80)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes on a fresh connection (for what an HTTP client will not send); resolves with what came back. */
function raw(socketPath: string, bytes: Buffer | string, halfClose: boolean): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    let got = '';
    const done = () => resolve(got);
    s.setTimeout(5_000, () => s.destroy());
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', done);
    s.on('error', () => undefined);
    s.write(bytes, () => {
      if (halfClose) s.end();
    });
  });
}

const METHODS = [
  'Plugin.Activate',
  'NetworkDriver.GetCapabilities',
  'NetworkDriver.CreateNetwork',
  'NetworkDriver.DeleteNetwork',
  'NetworkDriver.CreateEndpoint',
  'NetworkDriver.DeleteEndpoint',
  'NetworkDriver.EndpointOperInfo',
  'NetworkDriver.Join',
  'NetworkDriver.Leave',
  'NetworkDriver.ProgramExternalConnectivity',
  'NetworkDriver.RevokeExternalConnectivity',
  'NetworkDriver.AllocateNetwork',
  'NetworkDriver.FreeNetwork',
  'IpamDriver.RequestPool',
];
/** Methods whose valid answer has no `Err` (only sent with a valid body on purpose). */
const ALWAYS_OK = new Set(['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'NetworkDriver.DiscoverNew', 'NetworkDriver.DiscoverDelete']);

const INVALID_POOLS = ['300.1.1.0/24', '10.0.0.0/33', 'abc', '', '10.0.0.0', '10.0.0.0/-1', '::/129', 'fd00::/64/3', '1.2.3.4/24 ', '0x0a.0.0.0/8', '10.0.0.0/24\u0000', '١٠.0.0.0/24'];
const WEIRD_STRINGS = ['', ' ', '\u0000', '../../etc/passwd', '$(reboot)', '`id`', '; rm -rf /', '%s%n', '\uD800', '💥'.repeat(50), 'a'.repeat(300), 'tsn-xxx', '__proto__', 'constructor'];

class Fuzzer {
  /** Every ID the fuzzer sent: no link named after one may exist at the end. */
  readonly ids = new Set<string>();
  constructor(readonly r: Rng) {}

  hexId(): string {
    const id = Array.from({ length: 64 }, () => '0123456789abcdef'[this.r.int(16)]).join('');
    this.ids.add(id);
    return id;
  }

  anyId(): unknown {
    const r = this.r;
    switch (r.int(8)) {
      case 0:
        return r.pick(WEIRD_STRINGS);
      case 1:
        return r.int(1e9);
      case 2:
        return null;
      case 3:
        return [this.hexId()];
      case 4:
        return { id: this.hexId() };
      default:
        return this.hexId();
    }
  }

  value(depth = 0): unknown {
    const r = this.r;
    const k = r.int(depth > 4 ? 6 : 9);
    switch (k) {
      case 0:
        return null;
      case 1:
        return r.bool();
      case 2:
        return r.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 3.14, 65536, 4294967296]);
      case 3:
        return r.pick(WEIRD_STRINGS);
      case 4:
        return this.hexId();
      case 5:
        return r.pick(INVALID_POOLS);
      case 6:
        return Array.from({ length: r.int(5) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = r.int(6); i > 0; i--) o[r.pick(['NetworkID', 'EndpointID', 'Options', 'Interface', 'Address', 'Pool', 'x', '__proto__', 'SandboxKey', ...WEIRD_STRINGS])] = this.value(depth + 1);
        return o;
      }
    }
  }

  /** A body for a method: mostly the right shape with something wrong, sometimes anything. */
  body(method: string, realNet?: string): unknown {
    const r = this.r;
    // The real network is a target for everything but its own deletion (that one would be valid).
    const netId = realNet && method !== 'NetworkDriver.DeleteNetwork' && r.next() < 0.3 ? realNet : this.anyId();
    const epId = this.anyId();
    switch (method) {
      case 'NetworkDriver.CreateNetwork':
        return {
          NetworkID: r.next() < 0.2 ? realNet : netId,
          Options: r.pick([undefined, null, [], 'x', { 'com.docker.network.generic': r.pick([{ 'tsnet.nope': '1' }, 'str', [1], { 'com.docker.network.driver.mtu': r.pick(['0', 'abc', '99999999']) }, { 'com.docker.network.bridge.name': r.pick(WEIRD_STRINGS) }]) }, this.value()]),
          IPv4Data: r.pick([undefined, null, [], 'x', [{ Pool: r.pick(INVALID_POOLS), Gateway: r.pick(['', '1.2.3.4', 'zz']) }], [{ Pool: 5 }], [this.value()]]),
          IPv6Data: r.pick([undefined, [], [{ Pool: r.pick(INVALID_POOLS) }], { x: 1 }]),
        };
      case 'NetworkDriver.CreateEndpoint':
        return {
          NetworkID: netId,
          EndpointID: epId,
          Interface: r.pick([undefined, null, 'x', { Address: r.pick(['10.231.0.5/24', '999.1.1.1/24', '', 'x', 5]) }, { MacAddress: r.pick(['zz:zz', '', 7, '02:42:0a:00:00:02']) }, this.value()]),
          Options: r.pick([undefined, null, this.value(), []]),
        };
      case 'NetworkDriver.Join':
        return { NetworkID: netId, EndpointID: epId, SandboxKey: r.pick(['', '/proc/1/ns/net', 'relative', '/nonexistent/x', 5, 'x'.repeat(5000)]), Options: this.value() };
      case 'NetworkDriver.ProgramExternalConnectivity':
        return { NetworkID: netId, EndpointID: epId, Options: { 'com.docker.network.portmap': r.pick([[{ Proto: 6, Port: 80, HostPort: 18080 }], 'x', [null], [{ Proto: 'tcp', Port: -1 }], this.value()]) } };
      default:
        return r.bool() ? { NetworkID: netId, EndpointID: epId } : this.value();
    }
  }
}

describe('fuzz: the plugin socket under bad input', function () {
  this.timeout(600_000);
  const fz = new DriverProcess('tsnetfuzz');
  const seed = Number(process.env.TSNET_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let agent: http.Agent;
  /** The one real network, until the test removed it: removed in after() when the test failed first. */
  let realNetLeft: string | undefined;

  before(async () => {
    await fz.start();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  });
  after(async () => {
    if (realNetLeft) {
      const once = new http.Agent({ keepAlive: false });
      await request(once, fz.socket, 'POST', '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: realNetLeft })).catch(() => undefined);
      once.destroy();
    }
    agent?.destroy();
    await fz.stop();
    fz.removeState();
    if (process.env.TSNET_TEST_DRIVER_LOG) fs.writeFileSync(`${process.env.TSNET_TEST_DRIVER_LOG}.fuzz`, fz.log);
  });

  it(`answers ${COUNT} bad requests with well-formed errors, stays up, creates nothing, keeps memory bounded`, async () => {
    console.log(`      fuzz seed ${seed} (replay with TSNET_FUZZ_SEED=${seed})`);
    const r = prng(seed);
    const f = new Fuzzer(r);
    const sock = fz.socket;
    const pid = fz.proc!.pid!;
    const linksBefore = new Set([...hostLinks('tsn-'), ...hostLinks('tsv'), ...hostLinks('tsc')]);

    // One real network on purpose, so out-of-order requests also hit a known network.
    const sub = freeSubnet();
    const realNet = f.hexId();
    f.ids.delete(realNet);
    const created = await request(agent, sock, 'POST', '/NetworkDriver.CreateNetwork', JSON.stringify({ NetworkID: realNet, Options: {}, IPv4Data: [{ Pool: sub.v4, Gateway: `${sub.gw4}/24` }] }));
    realNetLeft = realNet;
    assert.deepEqual(JSON.parse(created.body), {}, `the valid CreateNetwork failed: ${created.body}`);
    assert.ok(linkExists(bridgeName(realNet)));

    // Out of order on the real network: Join/Leave/Delete before CreateEndpoint, double deletes.
    const orderly: Array<[string, unknown, boolean]> = [];
    const ep = f.hexId();
    f.ids.delete(ep);
    const epBody = { NetworkID: realNet, EndpointID: ep };
    orderly.push(['NetworkDriver.Join', { ...epBody, SandboxKey: '/var/run/docker/netns/none' }, false]);
    orderly.push(['NetworkDriver.Leave', epBody, false]);
    orderly.push(['NetworkDriver.DeleteEndpoint', epBody, false]);
    orderly.push(['NetworkDriver.EndpointOperInfo', epBody, false]);
    orderly.push(['NetworkDriver.RevokeExternalConnectivity', epBody, false]);
    orderly.push(['NetworkDriver.CreateEndpoint', { ...epBody, Interface: { Address: '10.99.99.2/24' } }, false]); // outside the subnet
    orderly.push(['NetworkDriver.CreateEndpoint', { ...epBody, Interface: { Address: `10.231.${sub.n}.7/24` } }, true]);
    orderly.push(['NetworkDriver.CreateEndpoint', { ...epBody, Interface: { Address: `10.231.${sub.n}.7/24` }, EndpointID: `${ep.slice(0, 60)}beef` }, false]); // same address
    orderly.push(['NetworkDriver.DeleteNetwork', { NetworkID: f.hexId() }, false]);
    orderly.push(['NetworkDriver.DeleteEndpoint', epBody, true]);
    orderly.push(['NetworkDriver.DeleteEndpoint', epBody, false]); // double delete
    orderly.push(['NetworkDriver.Join', { ...epBody, SandboxKey: '/var/run/docker/netns/none' }, false]); // after delete
    for (const [m, b, ok] of orderly) {
      const a = await request(agent, sock, 'POST', `/${m}`, JSON.stringify(b));
      const parsed = JSON.parse(a.body) as { Err?: unknown };
      if (ok) assert.equal(parsed.Err, undefined, `${m} should succeed: ${a.body}`);
      else assert.ok(typeof parsed.Err === 'string' && parsed.Err.length > 0, `${m} ${JSON.stringify(b).slice(0, 200)} should fail with Err, got ${a.body.slice(0, 300)}`);
    }
    assert.equal(linkExists(vethHostName(ep)), false, 'the deleted endpoint left its veth');

    // Warm up (JIT, pools), then measure.
    const stats = { sent: 0, errAnswers: 0, okAnswers: 0, notFound: 0, tooLarge: 0, raw: 0, byKind: {} as Record<string, number> };
    const problems: string[] = [];
    const oneShot = new http.Agent({ keepAlive: false, maxSockets: CONCURRENCY });
    const huge = 'A'.repeat(1024 * 1024 + 4096);
    const big = 'B'.repeat(600 * 1024);

    const one = async (i: number): Promise<void> => {
      const kind = r.int(100);
      let method = r.pick(METHODS);
      let urlPath = `/${method}`;
      let body: Buffer | string | undefined;
      let httpMethod = 'POST';
      let expectOk = false;
      let label: string;
      if (kind < 12) {
        label = 'malformed';
        body = r.pick(['{', '}', '{"NetworkID":', 'null', '[', '"', 'nul', '{"a":1,}', "{'a':1}", '{"NetworkID":"x"', 'NaN', '\u0000\u0001\u0002', Buffer.from(Array.from({ length: r.int(300) + 1 }, () => r.int(256))).toString('latin1')]);
      } else if (kind < 22) {
        label = 'truncated';
        const full = JSON.stringify(f.body(method, realNet)) ?? '{}';
        body = full.slice(0, Math.max(1, r.int(full.length)));
        if (body === full) body = `${full.slice(0, -1)}`;
      } else if (kind < 24) {
        label = 'oversized';
        body = r.bool() ? `{"NetworkID":"${huge}"}` : huge;
      } else if (kind < 28) {
        label = 'huge-string';
        body = JSON.stringify({ NetworkID: big, EndpointID: f.hexId(), Options: { x: big.slice(0, 1000) } });
      } else if (kind < 36) {
        label = 'wrong-type';
        const b = f.body(method, realNet) as Record<string, unknown>;
        const keys = b && typeof b === 'object' && !Array.isArray(b) ? Object.keys(b) : [];
        if (keys.length > 0) b[r.pick(keys)] = r.pick([5, true, [], {}, null, -1, 'x']);
        body = JSON.stringify(b) ?? 'null';
      } else if (kind < 48) {
        label = 'random-json';
        body = JSON.stringify(f.value()) ?? '0';
      } else if (kind < 52) {
        label = 'nested';
        const depth = r.pick([50, 1000, 5000, 20000]);
        const inner = r.bool() ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
        body = r.bool() ? `{"NetworkID":"${f.hexId()}","Options":${inner}}` : inner;
      } else if (kind < 58) {
        label = 'random-method';
        urlPath = r.pick([`/NetworkDriver.${r.pick(WEIRD_STRINGS).replace(/[^\x21-\x7e]/g, 'x')}`, '/', '/Plugin.Deactivate', `/${f.hexId()}`, '/NetworkDriver.CreateNetwork/../x', '/%00', '/NetworkDriver.Join?x=1', `/${'x'.repeat(4000)}`]);
        httpMethod = r.pick(['POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
        body = httpMethod === 'GET' ? undefined : JSON.stringify(f.value());
      } else if (kind < 60) {
        label = 'raw';
        stats.raw++;
        stats.sent++;
        const variants = [
          `POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"NetworkID":`,
          `GARBAGE\r\n\r\n`,
          `POST /NetworkDriver.Join HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
          `POST /NetworkDriver.Leave HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`,
          `POST /NetworkDriver.Leave HTTP/1.1\r\n${'X-A: b\r\n'.repeat(3000)}\r\n`,
        ];
        await raw(sock, r.pick(variants), r.bool());
        stats.byKind[label] = (stats.byKind[label] ?? 0) + 1;
        return;
      } else if (kind < 62) {
        label = 'valid';
        method = r.pick([...ALWAYS_OK]);
        urlPath = `/${method}`;
        body = '{}';
        expectOk = true;
      } else {
        label = 'out-of-order';
        method = r.pick(METHODS.slice(2, 11));
        urlPath = `/${method}`;
        body = JSON.stringify(f.body(method, realNet));
      }
      stats.byKind[label] = (stats.byKind[label] ?? 0) + 1;
      stats.sent++;
      // Methods that take no input may answer success to any JSON body; that is correct.
      const lenient = !expectOk && ALWAYS_OK.has(method) && urlPath === `/${method}` && httpMethod === 'POST';
      let a: Answer;
      try {
        // An oversized body goes on its own connection: the server answers 413 and closes it unread.
        a = await request(label === 'oversized' ? oneShot : agent, sock, httpMethod, urlPath, body);
      } catch (e) {
        // Only an oversized body may be cut off by the server (it answers 413 and may close before reading it all).
        if (label === 'oversized' && /ECONNRESET|EPIPE/.test(String(e))) return;
        problems.push(`#${i} ${label} ${httpMethod} ${urlPath.slice(0, 60)}: no answer: ${e}`);
        return;
      }
      if (a.status === 431 || (a.status === 414 && label === 'random-method')) return; // Node's own header limits
      let parsed: unknown;
      try {
        parsed = JSON.parse(a.body);
      } catch {
        problems.push(`#${i} ${label} ${httpMethod} ${urlPath.slice(0, 60)}: answer is not JSON (HTTP ${a.status}): ${a.body.slice(0, 200)}`);
        return;
      }
      if (a.status === 404) stats.notFound++;
      if (a.status === 413) stats.tooLarge++;
      const o = parsed as { Err?: unknown };
      if (lenient && a.status === 200 && o && typeof o === 'object' && o.Err === undefined) {
        stats.okAnswers++;
        return;
      }
      if (expectOk) {
        if (a.status !== 200 || o.Err !== undefined) problems.push(`#${i} valid ${method} failed: ${a.body.slice(0, 200)}`);
        else stats.okAnswers++;
        return;
      }
      if (!o || typeof o !== 'object' || Array.isArray(o) || typeof o.Err !== 'string' || o.Err.length === 0) {
        problems.push(`#${i} ${label} ${httpMethod} ${urlPath.slice(0, 60)} ${String(body).slice(0, 120)}: no Err string in HTTP ${a.status} ${a.body.slice(0, 200)}`);
        return;
      }
      if (o.Err.length > 4096) problems.push(`#${i} ${label}: an Err of ${o.Err.length} chars (input echoed back?)`);
      stats.errAnswers++;
    };

    const runBatch = async (n: number, from = 0) => {
      let next = from;
      const workers = Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await one(next++);
      });
      await Promise.all(workers);
    };

    await runBatch(300);
    await sleep(500);
    const rssBefore = rssKb(pid);
    const started = Date.now();
    await runBatch(COUNT);
    const seconds = (Date.now() - started) / 1000;
    await sleep(1000);
    const rssAfter = rssKb(pid);
    // Bounded means no growth per request: a further batch must not keep raising the RSS (the
    // first one grows V8's heap, which Node keeps, by the 600 KB bodies it parsed).
    await runBatch(COUNT + 3000, COUNT);
    await sleep(1000);
    const rssSteady = rssKb(pid);

    console.log(
      `      fuzz: ${stats.sent} requests in ${seconds.toFixed(1)} s (${stats.errAnswers} Err answers, ${stats.okAnswers} valid, ${stats.notFound} 404, ${stats.tooLarge} 413, ${stats.raw} raw); ` +
        `RSS ${Math.round(rssBefore / 1024)} MB -> ${Math.round(rssAfter / 1024)} MB -> ${Math.round(rssSteady / 1024)} MB after 3000 more; kinds ${JSON.stringify(stats.byKind)}`,
    );
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers (seed ${seed})`);
    assert.ok(stats.sent >= 10_000 || COUNT < 10_000, `only ${stats.sent} sent`);
    assert.equal(fz.proc!.exitCode, null, `the driver exited:\n${fz.log.slice(-3000)}`);
    assert.equal(fz.proc!.signalCode, null, 'the driver was killed');
    assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT_KB, `RSS grew ${rssAfter - rssBefore} kB (limit ${RSS_GROWTH_LIMIT_KB})`);
    assert.ok(rssSteady - rssAfter < RSS_STEADY_LIMIT_KB, `RSS kept growing: +${rssSteady - rssAfter} kB over 3000 more requests (limit ${RSS_STEADY_LIMIT_KB})`);

    // Still answering, and a valid request still works.
    const caps = await request(agent, sock, 'POST', '/NetworkDriver.GetCapabilities', '{}');
    assert.deepEqual(JSON.parse(caps.body), { Scope: 'local', ConnectivityScope: 'local' });

    // Nothing made from any fuzzed ID; only the real network, and that goes away cleanly.
    const present = new Set([...hostLinks('tsn-'), ...hostLinks('tsv'), ...hostLinks('tsc')]);
    const made = [...f.ids].flatMap((id) => [bridgeName(id), vethHostName(id), vethContainerName(id)]).filter((n) => present.has(n));
    assert.deepEqual(made, [], 'links were created from fuzzed requests');
    const status = JSON.parse((await statusGet(fz.statusSocket, '/status')).body) as { networks: { id: string; endpoints: unknown[] }[] };
    assert.deepEqual(status.networks.map((n) => n.id), [realNet], 'the store holds only the real network');
    assert.deepEqual(status.networks[0].endpoints, [], 'the real network has no endpoint');
    const del = await request(agent, sock, 'POST', '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: realNet }));
    assert.deepEqual(JSON.parse(del.body), {});
    realNetLeft = undefined;
    const again = JSON.parse((await request(agent, sock, 'POST', '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: realNet }))).body) as { Err?: string };
    assert.match(String(again.Err), /network/i, 'a double DeleteNetwork is an error');
    assert.equal(linkExists(bridgeName(realNet)), false);
    const table = sh('nft', ['list', 'table', 'inet', 'tsnet']);
    assert.ok(!table.includes(bridgeName(realNet)), 'the firewall still names the deleted bridge');
    for (const id of f.ids) assert.ok(!table.includes(bridgeName(id)), `the firewall names ${bridgeName(id)}`);
    // Links that appeared meanwhile can only be other tests' (named after IDs this test never sent).
    const prefixes = new Set([...f.ids].map((id) => id.slice(0, 11)));
    const linksAfter = [...present].filter((l) => !linksBefore.has(l));
    for (const l of linksAfter) assert.ok(!prefixes.has(l.slice(-11)), `${l} comes from a fuzzed request`);
  });
});

function statusGet(socketPath: string, urlPath: string, method = 'GET'): Promise<Answer> {
  const agent = new http.Agent({ keepAlive: false });
  return request(agent, socketPath, method, urlPath, method === 'GET' ? undefined : '{}').finally(() => agent.destroy());
}

describe('security: sockets and shell', function () {
  this.timeout(60_000);
  const d = new DriverProcess('tsnetsec');
  before(() => d.start());
  after(async () => {
    await d.stop();
    d.removeState();
  });

  it('the plugin socket is reachable by root only (mode 0600, owned by root)', () => {
    const st = fs.statSync(d.socket);
    assert.ok(st.isSocket());
    assert.equal((st.mode & 0o777).toString(8), '600');
    assert.equal(st.uid, 0);
  });

  it('the status socket answers GET and refuses every mutating method with 405', async () => {
    const st = fs.statSync(d.statusSocket);
    assert.equal(st.mode & 0o007, 0, 'the status socket is not world-accessible');
    const ok = await statusGet(d.statusSocket, '/status');
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray((JSON.parse(ok.body) as { networks: unknown[] }).networks));
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const p of ['/status', '/networks', '/ports', '/NetworkDriver.CreateNetwork', '/']) {
        const a = await statusGet(d.statusSocket, p, m);
        assert.equal(a.status, 405, `${m} ${p} answered ${a.status}`);
      }
    }
  });

  it('nothing in driver/src (outside the cli folder) can run a shell or another program', () => {
    const root = path.join(REPO, 'driver', 'src');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (p !== path.join(root, 'cli')) walk(p);
        } else if (e.name.endsWith('.ts')) {
          const text = fs.readFileSync(p, 'utf8');
          if (/child_process|\bexecSync\b|\bexecFile\b|\bspawn\(|\bshell:\s*true|\bnew Function\(|\beval\(/.test(text)) offenders.push(path.relative(REPO, p));
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, []);
  });
});
