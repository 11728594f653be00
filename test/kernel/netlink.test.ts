/**
 * The rtnetlink adapter against the real kernel, always inside throw-away namespaces: the handle
 * is opened with netnsPath, so the host's links, addresses and conntrack table are never touched.
 * `ip`, `conntrack`, `nft` and `node` are used here only to set the scene and to cross-check.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { openNetlink, NetlinkError, EEXIST, ENODEV, ENOENT, type NetlinkHandle } from '@tsnet/driver/dist/netlink';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

function has(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  master?: string;
  address?: string;
  flags: string[];
}

function ipJson<T>(ns: TestNetns, ...args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-n', ns.name, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

async function rejectsWith(p: Promise<unknown>, errno: number, message: RegExp): Promise<NetlinkError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NetlinkError, `expected a NetlinkError, got ${String(e)}`);
    assert.equal(e.errno, errno, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a NetlinkError with errno ${errno}`);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('netlink adapter (kernel, inside test namespaces)', function () {
  this.timeout(60_000);

  let ns: TestNetns | undefined; // where the handle works
  let peerNs: TestNetns | undefined; // where veth peers go, like a container's sandbox
  let nl: NetlinkHandle | undefined;
  let children: ChildProcess[] = [];

  const h = (): NetlinkHandle => nl ?? assert.fail('netlink handle not open (before hook failed)');
  const A = (): TestNetns => ns ?? assert.fail('test namespace missing (before hook failed)');
  const B = (): TestNetns => peerNs ?? assert.fail('peer namespace missing (before hook failed)');

  before(async () => {
    requirePrerequisite(isRoot(), 'root', 'kernel tests create network namespaces: run them as root');
    requirePrerequisite(has('ip', ['-V']), 'iproute2 (`ip`)', 'apt-get install -y iproute2');
    requirePrerequisite(has('conntrack'), 'conntrack-tools (`conntrack`)', 'apt-get install -y conntrack');
    requirePrerequisite(has('nft', ['--version']), 'nftables (`nft`)', 'apt-get install -y nftables');
    requirePrerequisite(has('busybox', ['true']), 'busybox (`busybox ping`)', 'apt-get install -y busybox-static');
    ns = createNetns('nl');
    peerNs = createNetns('nlp');
    nl = await openNetlink({ netnsPath: ns.path });
  });

  after(async () => {
    await nl?.close();
    ns?.cleanup();
    peerNs?.cleanup();
  });

  afterEach(() => {
    for (const c of children) c.kill('SIGKILL');
    children = [];
  });

  it('works in its own namespace, not the host: sees only lo at first', async () => {
    const links = await h().listLinks();
    assert.deepEqual(
      links.map((l) => l.name),
      ['lo'],
    );
    assert.equal(links[0].up, true);
  });

  describe('links', () => {
    afterEach(async () => {
      for (const name of ['tsbr1', 'tsv1', 'tsv2']) await h().deleteLink(name).catch(() => undefined);
    });

    it('creates a bridge with an mtu', async () => {
      await h().createBridge('tsbr1', { mtu: 1400 });
      const br = await h().getLink('tsbr1');
      assert.ok(br);
      assert.equal(br.kind, 'bridge');
      assert.equal(br.mtu, 1400);
      assert.equal(br.up, false);
      const [seen] = ipJson<IpLink[]>(A(), 'link', 'show', 'tsbr1');
      assert.equal(seen.ifindex, br.index);
      assert.equal(seen.mtu, 1400);
    });

    it('creates a veth whose host end is attached, sized and up, and whose peer lands in another namespace', async () => {
      await h().createBridge('tsbr1');
      await h().createVeth('tsv1', 'tsc1', { master: 'tsbr1', mtu: 1450, peerMac: '02:42:0a:63:00:05', peerNetnsPath: B().path });
      const br = await h().getLink('tsbr1');
      const host = await h().getLink('tsv1');
      assert.ok(br && host);
      assert.equal(host.kind, 'veth');
      assert.equal(host.masterIndex, br.index);
      assert.equal(host.mtu, 1450);
      assert.equal(host.up, true);
      assert.equal(await h().getLink('tsc1'), undefined, 'peer is not in the handle namespace');

      const [peer] = ipJson<IpLink[]>(B(), 'link', 'show', 'tsc1');
      assert.equal(peer.address, '02:42:0a:63:00:05');
      assert.equal(peer.mtu, 1450);
      assert.equal(host.peerIndex, peer.ifindex);
      const [seenHost] = ipJson<IpLink[]>(A(), 'link', 'show', 'tsv1');
      assert.equal(seenHost.master, 'tsbr1');
      assert.ok(seenHost.flags.includes('UP'));

      await h().deleteLink('tsv1');
      assert.equal(await h().getLink('tsv1'), undefined);
      assert.deepEqual(ipJson<IpLink[]>(B(), 'link', 'show'), ipJson<IpLink[]>(B(), 'link', 'show', 'lo'), 'peer went with it');
    });

    it('sets master, mtu, up and down on an existing link', async () => {
      await h().createBridge('tsbr1');
      await h().createVeth('tsv1', 'tsv2');
      await h().setMaster('tsv2', 'tsbr1');
      await h().setMtu('tsv2', 1280);
      await h().setLinkUp('tsbr1');
      await h().setLinkUp('tsv2');
      const [br, v2] = [await h().getLink('tsbr1'), await h().getLink('tsv2')];
      assert.ok(br && v2);
      assert.equal(v2.masterIndex, br.index);
      assert.equal(v2.mtu, 1280);
      assert.equal(v2.up, true);
      assert.equal(br.up, true);
      await h().setLinkDown('tsv2');
      assert.equal((await h().getLink('tsv2'))?.up, false);
      assert.deepEqual(
        (await h().listLinks()).map((l) => l.name).sort(),
        ['lo', 'tsbr1', 'tsv1', 'tsv2'],
      );
    });

    it('refuses a duplicate with EEXIST, naming the operation and the object', async () => {
      await h().createBridge('tsbr1');
      await rejectsWith(h().createBridge('tsbr1'), EEXIST, /^create bridge tsbr1: File exists \(EEXIST\)/);
      await h().createVeth('tsv1', 'tsc1');
      await rejectsWith(h().createVeth('tsv1', 'tsc9'), EEXIST, /^create veth tsv1 \(peer tsc9\): File exists \(EEXIST\)/);
    });

    it('reports a missing link with ENODEV', async () => {
      await rejectsWith(h().deleteLink('tsnope'), ENODEV, /^delete link tsnope: No such device \(ENODEV\)/);
      await rejectsWith(h().setMtu('tsnope', 1400), ENODEV, /tsnope.*ENODEV/);
      await rejectsWith(h().setLinkUp('tsnope'), ENODEV, /tsnope.*ENODEV/);
      await rejectsWith(h().addAddress('tsnope', '10.99.0.1/24'), ENODEV, /tsnope.*ENODEV/);
      await rejectsWith(h().createVeth('tsv1', 'tsc1', { master: 'tsnobr' }), ENODEV, /^create veth tsv1 \(peer tsc1\): master tsnobr: No such device/);
      assert.equal(await h().getLink('tsnope'), undefined);
      assert.equal(await h().getLink('tsv1'), undefined, 'nothing half-made');
    });

    it('refuses an over-long interface name before asking the kernel', async () => {
      const e = await rejectsWith(h().createBridge('tsbr-name-too-long'), 22, /at most 15/);
      assert.equal(e.op, 'createBridge');
    });

    it('passes the kernel extended ack through', async () => {
      await h().createVeth('tsv1', 'tsc1');
      // A veth refuses an mtu above its maximum; the kernel says why.
      const e = await rejectsWith(h().setMtu('tsv1', 70_000), 22, /^set mtu of tsv1 to 70000: Invalid argument \(EINVAL\)/);
      assert.match(e.message, /EINVAL\): \S/, 'carries the ext-ack text');
    });
  });

  describe('addresses and routes', () => {
    before(async () => {
      await h().createBridge('tsbr2');
      await h().setLinkUp('tsbr2');
    });
    after(async () => {
      await h().deleteLink('tsbr2').catch(() => undefined);
    });

    it('adds IPv4 and IPv6 addresses and lists them per link', async () => {
      await h().addAddress('tsbr2', '10.99.7.1/24');
      await h().addAddress('tsbr2', 'fd99:7::1/64');
      const br = await h().getLink('tsbr2');
      const mine = (await h().listAddresses('tsbr2')).filter((a) => !a.cidr.startsWith('fe80:'));
      assert.deepEqual(
        mine.map((a) => [a.family, a.cidr, a.ifindex]),
        [
          [4, '10.99.7.1/24', br?.index],
          [6, 'fd99:7::1/64', br?.index],
        ],
      );
      const all = await h().listAddresses();
      assert.ok(all.some((a) => a.cidr === '127.0.0.1/8'));
      const seen = ipJson<{ addr_info: { local: string; prefixlen: number; broadcast?: string }[] }[]>(A(), 'addr', 'show', 'tsbr2');
      const v4 = seen[0].addr_info.find((a) => a.local === '10.99.7.1');
      assert.equal(v4?.broadcast, '10.99.7.255');
    });

    it('refuses a duplicate address with EEXIST and deletes addresses', async () => {
      await rejectsWith(h().addAddress('tsbr2', '10.99.7.1/24'), EEXIST, /^add address 10\.99\.7\.1\/24 to tsbr2: File exists/);
      await h().deleteAddress('tsbr2', '10.99.7.1/24');
      await h().deleteAddress('tsbr2', 'fd99:7::1/64');
      assert.deepEqual(
        (await h().listAddresses('tsbr2')).filter((a) => !a.cidr.startsWith('fe80:')),
        [],
      );
      await rejectsWith(h().deleteAddress('tsbr2', '10.99.7.1/24'), 99, /delete address 10\.99\.7\.1\/24 from tsbr2/);
    });

    it('lists main-table routes, by family', async () => {
      await h().addAddress('tsbr2', '10.99.8.1/24');
      await h().addAddress('tsbr2', 'fd99:8::1/64');
      const br = await h().getLink('tsbr2');
      const v4 = await h().listRoutes(4);
      assert.ok(v4.every((r) => r.family === 4 && r.table === 254));
      assert.deepEqual(
        v4.find((r) => r.dst === '10.99.8.0/24'),
        { family: 4, dst: '10.99.8.0/24', table: 254, ifindex: br?.index },
      );
      execFileSync('ip', ['-n', A().name, 'route', 'add', 'default', 'via', '10.99.8.254']);
      const dflt = (await h().listRoutes(4)).find((r) => r.dst === '0.0.0.0/0');
      assert.equal(dflt?.gateway, '10.99.8.254');
      const v6 = await h().listRoutes(6);
      assert.ok(v6.some((r) => r.dst === 'fd99:8::/64' && r.ifindex === br?.index));
      assert.ok(v6.every((r) => r.family === 6));
      const both = await h().listRoutes();
      assert.equal(both.length, (await h().listRoutes(4)).length + v6.length);
    });
  });

  describe('many endpoints at once', () => {
    const N = 200;
    afterEach(async () => {
      // Best effort: whatever a failed test left behind goes with the namespace anyway.
      await Promise.all(Array.from({ length: N }, (_, i) => h().deleteLink(`tsm${i}`).catch(() => undefined)));
      await h().deleteLink('tsbr3').catch(() => undefined);
    });

    it(`creates and deletes ${N} veths concurrently without stalling the event loop`, async () => {
      await h().createBridge('tsbr3');
      let maxLagMs = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        maxLagMs = Math.max(maxLagMs, now - last - 5);
        last = now;
      }, 5);
      try {
        await Promise.all(Array.from({ length: N }, (_, i) => h().createVeth(`tsm${i}`, `tsn${i}`, { master: 'tsbr3', mtu: 1500 })));
        const links = await h().listLinks();
        assert.equal(links.filter((l) => l.name.startsWith('tsm') && l.up).length, N);
        await Promise.all(Array.from({ length: N }, (_, i) => h().deleteLink(`tsm${i}`)));
        assert.deepEqual(
          (await h().listLinks()).filter((l) => /^ts[mn]\d/.test(l.name)),
          [],
        );
      } finally {
        clearInterval(timer);
      }
      console.log(`      worst event-loop lag: ${maxLagMs.toFixed(1)} ms`);
      assert.ok(maxLagMs < 100, `event loop stalled ${maxLagMs.toFixed(1)} ms`);
    });

    it('measures endpoint set-up (veth + master + mtu + up, peer in another namespace)', async () => {
      await h().createBridge('tsbr3');
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        await h().createVeth(`tsm${i}`, `tsn${i}`, { master: 'tsbr3', mtu: 1500, peerNetnsPath: B().path });
        times.push(performance.now() - t0);
      }
      console.log(`      endpoint set-up: median ${median(times).toFixed(3)} ms over ${N} (veth + master + mtu + up, peer in a second namespace)`);
      const v = await h().getLink(`tsm${N - 1}`);
      assert.ok(v?.up && v.masterIndex === (await h().getLink('tsbr3'))?.index);
    });
  });

  describe('sockets', () => {
    it('lists a TCP listener and a UDP socket started inside the namespace', async () => {
      const script =
        "const net=require('net'),dgram=require('dgram');" +
        "net.createServer().listen(5555,'0.0.0.0',()=>{dgram.createSocket('udp6').bind(5353,'::',()=>console.log('ready'))});" +
        'setTimeout(()=>{},60000)';
      const child = spawn('ip', ['netns', 'exec', A().name, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`listener exited early with code ${code}`)));
      });
      const socks = await h().listSockets();
      assert.ok(
        socks.some((s) => s.proto === 'tcp' && s.localAddress === '0.0.0.0' && s.localPort === 5555 && s.state === 'LISTEN'),
        JSON.stringify(socks),
      );
      assert.ok(
        socks.some((s) => s.proto === 'udp6' && s.localAddress === '::' && s.localPort === 5353 && s.state === 'UNCONN'),
        JSON.stringify(socks),
      );
      child.kill('SIGKILL');
      await waitFor('listener gone', async () => ((await h().listSockets()).some((s) => s.localPort === 5555) ? undefined : true));
    });
  });

  describe('conntrack', () => {
    const ct = (...args: string[]) => execFileSync('ip', ['netns', 'exec', A().name, 'conntrack', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const flows = () => ct('-L').trim().split('\n').filter(Boolean);

    afterEach(() => {
      try {
        ct('-F');
      } catch {
        /* nothing to flush */
      }
    });

    it('deletes entries whose original destination or reply source is the address, and no others', async () => {
      const insert = (...args: string[]) => ct('-I', '-p', 'tcp', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY', '-t', '120', ...args);
      // Plain traffic to .5, traffic to .9 that was DNAT'd to .5 (reply comes from .5), unrelated traffic.
      insert('-s', '10.99.9.1', '-d', '10.99.9.5', '--sport', '40001', '--dport', '80');
      insert('-s', '10.99.9.1', '-d', '10.99.9.9', '--sport', '40002', '--dport', '8080', '-r', '10.99.9.5', '-q', '10.99.9.1', '--reply-port-src', '80', '--reply-port-dst', '40002');
      insert('-s', '10.99.9.1', '-d', '10.99.9.6', '--sport', '40003', '--dport', '80');
      insert('-s', 'fd99:9::1', '-d', 'fd99:9::5', '--sport', '40004', '--dport', '80');
      assert.equal(flows().length, 4);

      assert.equal(await h().deleteConntrackFor('10.99.9.5'), 2);
      const left = flows();
      assert.equal(left.length, 2, left.join('\n'));
      assert.ok(left.some((l) => l.includes('dst=10.99.9.6')));
      assert.equal(await h().deleteConntrackFor('fd99:9:0::5'), 1, 'IPv6, written non-canonically');
      assert.equal(await h().deleteConntrackFor('10.99.9.5'), 0);
    });

    it('deletes the entry real traffic between two test namespaces created', async () => {
      await h().createVeth('tsct1', 'tsct2', { peerNetnsPath: B().path });
      try {
        await h().addAddress('tsct1', '10.99.10.1/24');
        execFileSync('ip', ['-n', B().name, 'addr', 'add', '10.99.10.2/24', 'dev', 'tsct2']);
        execFileSync('ip', ['-n', B().name, 'link', 'set', 'tsct2', 'up']);
        // Conntrack hooks are registered in a namespace only once a rule there needs them.
        execFileSync('ip', ['netns', 'exec', A().name, 'nft', 'add table inet tsct; add chain inet tsct out { type filter hook output priority 0; }; add rule inet tsct out ct state new counter'], {
          stdio: 'ignore',
        });
        execFileSync('ip', ['netns', 'exec', A().name, 'busybox', 'ping', '-c', '1', '-W', '2', '10.99.10.2'], { stdio: 'ignore', timeout: 10_000 });
        assert.ok(flows().some((l) => l.includes('dst=10.99.10.2')), 'ping left a conntrack entry');
        assert.ok((await h().deleteConntrackFor('10.99.10.2')) >= 1);
        assert.ok(!flows().some((l) => l.includes('dst=10.99.10.2')));
      } finally {
        await h().deleteLink('tsct1').catch(() => undefined);
        try {
          execFileSync('ip', ['netns', 'exec', A().name, 'nft', 'delete table inet tsct'], { stdio: 'ignore' });
        } catch {
          /* not created */
        }
      }
    });
  });

  describe('lifecycle', () => {
    it('fails to open in a namespace that does not exist, with the path and errno', async () => {
      try {
        await openNetlink({ netnsPath: '/run/netns/tst-does-not-exist' });
        assert.fail('expected openNetlink to fail');
      } catch (e) {
        assert.ok(e instanceof NetlinkError, String(e));
        assert.equal(e.errno, ENOENT);
        assert.match(e.message, /tst-does-not-exist/);
      }
    });

    it('rejects calls after close and lets the process exit', async () => {
      const other = await openNetlink({ netnsPath: A().path });
      await other.listLinks();
      await other.close();
      await other.close(); // idempotent
      await assert.rejects(other.listLinks(), /closed/);

      // A process that opens a handle, uses it and closes it ends on its own; so does one that never closes it.
      for (const tail of ['.then(()=>h.close())', '']) {
        const script = `require('@tsnet/driver/dist/netlink').openNetlink({netnsPath:${JSON.stringify(A().path)}}).then(h=>h.listLinks()${tail})`;
        execFileSync(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '../../..'), timeout: 10_000, stdio: 'ignore' });
      }
    });
  });
});
