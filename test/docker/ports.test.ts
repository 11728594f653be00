/** Issue 4: `docker run -p` on tsnet networks, DNAT in the kernel, no userland proxy. */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { DRIVER_NAME, EXTERNAL_DRIVER, Scenario, docker, dockerFails, freeSubnet, getStatus, sh, startHttpd, httpFrom } from '../helpers/docker';
import { createOutside, nsRequest, type Outside } from '../helpers/outside';
import { driver } from './env';

let nextPort = 18100 + Math.floor(Math.random() * 400);
const port = () => nextPort++;

/** GET / over TCP; retries a refused connection for a moment (the server may still be starting). */
async function httpGet(host: string, p: number, timeoutMs = 3000): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await httpGetOnce(host, p, timeoutMs);
    } catch (e) {
      if (i >= 10 || (e as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function httpGetOnce(host: string, p: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: p });
    let data = '';
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`timeout connecting to ${host}:${p}`)));
    sock.on('connect', () => sock.write('GET / HTTP/1.0\r\n\r\n'));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

function udpAsk(host: string, p: number, msg: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP answer from ${host}:${p}`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send(msg, p, host);
  });
}

const pidOf = (c: string) => docker(['inspect', '-f', '{{.State.Pid}}', c]);

/** A UDP echo server inside a container's namespace, run from the host (busybox nc has no -u). */
async function udpEcho(c: string, p: number, children: ChildProcess[]): Promise<void> {
  const child = spawn('nsenter', [`--net=/proc/${pidOf(c)}/ns/net`, process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(${p},()=>console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp echo did not start')), 10_000);
    child.stdout!.once('data', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

const mapElements = () => sh('nft', ['list', 'table', 'inet', 'tsnet']);

describe('port publishing', function () {
  this.timeout(180_000);
  const s = new Scenario();
  let outside: Outside;
  const children: ChildProcess[] = [];
  before(() => {
    outside = createOutside();
  });
  after(() => outside?.cleanup());
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    s.cleanup();
  });

  it('-p H:80 is reachable from the host on 127.0.0.1, from an external client, and from a container via the host address (hairpin)', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const hp = port();
    const web = s.run(['--network', n, '-p', `${hp}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    const client = s.run(['--network', n]);
    assert.match(await httpGet('127.0.0.1', hp), /tsnet test page/);
    assert.match(nsRequest(outside, outside.hostIP, hp), /tsnet test page/);
    assert.match(httpFrom(s, client, outside.hostIP, hp), /tsnet test page/);
    assert.match(httpFrom(s, web, outside.hostIP, hp), /tsnet test page/, 'a container reaches itself through its published port');
    // No userland proxy: nothing listens on the host port.
    assert.doesNotMatch(sh('ss', ['-Hltn', `sport = :${hp}`]), new RegExp(`:${hp}\\b`));
  });

  it('-p 127.0.0.1:H:80 answers on 127.0.0.1 only', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const hp = port();
    s.run(['--network', n, '-p', `127.0.0.1:${hp}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.match(await httpGet('127.0.0.1', hp), /tsnet test page/);
    assert.throws(() => nsRequest(outside, outside.hostIP, hp).match(/tsnet/) ?? (() => { throw new Error('no answer'); })());
  });

  it('-p H:81/udp forwards UDP', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const hp = port();
    const c = s.run(['--network', n, '-p', `${hp}:81/udp`]);
    await udpEcho(c, 81, children);
    assert.equal(await udpAsk('127.0.0.1', hp, 'hi'), 'echo:hi');
    assert.equal(outside.exec(process.execPath, ['-e', `const s=require('dgram').createSocket('udp4');s.on('message',m=>{console.log(String(m));process.exit(0)});s.send('out',${hp},'${outside.hostIP}');setTimeout(()=>process.exit(1),2000)`]), 'echo:out');
  });

  it('-p A-B:A-B publishes a range', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const first = port();
    nextPort += 3;
    const c = s.run(['--network', n, '-p', `${first}-${first + 3}:${first}-${first + 3}`]);
    startHttpd(s, c, first);
    startHttpd(s, c, first + 3);
    assert.match(await httpGet('127.0.0.1', first), /tsnet test page/);
    assert.match(await httpGet('127.0.0.1', first + 3), /tsnet test page/);
  });

  it('-p 80 picks a free host port, reports it in the status API and the port is reachable', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const c = s.run(['--network', n, '-p', '80'], ['httpd', '-f', '-p', '80', '-h', '/www']);
    const ip = s.ip(c, n);
    const socketPath = EXTERNAL_DRIVER ? process.env.TSNET_STATUS_SOCKET ?? '/run/tsnet/status.sock' : driver.statusSocket;
    const ports = await getStatus<{ hostPort: number; containerIP: string; containerPort: number; picked: boolean }[]>(socketPath, '/ports');
    const mine = ports.find((p) => p.containerIP === ip && p.containerPort === 80);
    assert.ok(mine, `no port map for ${ip}:80 in ${JSON.stringify(ports)}`);
    assert.equal(mine.picked, true);
    assert.ok(mine.hostPort >= 49153 && mine.hostPort <= 65535, `picked ${mine.hostPort}`);
    assert.match(await httpGet('127.0.0.1', mine.hostPort), /tsnet test page/);
  });

  it('publishes on an IPv6 host address on --ipv6 networks', async () => {
    const sub = freeSubnet();
    const n = s.network(['-d', DRIVER_NAME, '--ipv6', '--subnet', sub.v4, '--subnet', sub.v6]);
    const hp = port();
    s.run(['--network', n, '-p', `[${outside.hostIP6}]:${hp}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.match(outside.exec('sh', ['-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${outside.hostIP6} ${hp}`]), /tsnet test page/);
  });

  it('uses com.docker.network.bridge.host_binding_ipv4 as the default host address', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4, '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1']);
    const hp = port();
    s.run(['--network', n, '-p', `${hp}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.match(await httpGet('127.0.0.1', hp), /tsnet test page/);
    assert.doesNotMatch(outside.exec('sh', ['-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 ${outside.hostIP} ${hp} || true`]), /tsnet test page/);
  });

  it('refuses a host port taken by a process or by another container, before programming anything', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const hp = port();
    const server = net.createServer().listen(hp, '0.0.0.0');
    await new Promise((r) => server.once('listening', r));
    try {
      const before = mapElements();
      const busy = s.name('busy');
      s.containers.push(busy);
      const err = dockerFails(['run', '-d', '--label', 'tsnet.test=1', '--name', busy, '--network', n, '-p', `${hp}:80`, 'tsnet-test-busybox:latest', 'sleep', '60']);
      assert.match(err, new RegExp(`${hp}/tcp: a process on the host is already bound`));
      assert.equal(mapElements(), before);
    } finally {
      server.close();
    }
    const hp2 = port();
    s.run(['--network', n, '-p', `${hp2}:80`]);
    const name = s.name('dup');
    s.containers.push(name);
    const err2 = dockerFails(['run', '-d', '--label', 'tsnet.test=1', '--name', name, '--network', n, '-p', `${hp2}:80`, 'tsnet-test-busybox:latest', 'sleep', '60']);
    assert.match(err2, /another container .* already publishes/);
  });

  it('stop, rm and disconnect leave no rule and no conntrack entry sending new flows to a dead address', async () => {
    const n = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
    const hp = port();
    const first = s.run(['--network', n, '-p', `${hp}:81/udp`]);
    await udpEcho(first, 81, children);
    const firstIP = s.ip(first, n);
    // A UDP flow from a fixed source port creates a conntrack entry DNAT'd to the first container.
    const ask = (msg: string) =>
      execFileSync(process.execPath, ['-e', `const s=require('dgram').createSocket('udp4');s.bind(40999,()=>{s.on('message',m=>{console.log(String(m));process.exit(0)});s.send('${msg}',${hp},'127.0.0.1');setTimeout(()=>process.exit(3),2000)})`], { encoding: 'utf8' }).trim();
    assert.equal(ask('one'), 'echo:one');
    assert.match(sh('conntrack', ['-L', '-p', 'udp', '--dport', String(hp)]), new RegExp(firstIP.replace(/\./g, '\\.')));
    docker(['rm', '-f', first]);
    assert.doesNotMatch(mapElements(), new RegExp(`\\b${hp}\\b`), 'the port map is gone');
    assert.doesNotMatch(sh('conntrack', ['-L', '-p', 'udp']), new RegExp(`dst=${firstIP.replace(/\./g, '\\.')} `), 'no conntrack entry to the dead address');
    const second = s.run(['--network', n, '-p', `${hp}:81/udp`]);
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await udpEcho(second, 81, children);
    assert.equal(ask('two'), 'echo:two', 'the same flow reaches the new container');

    const hp2 = port();
    const third = s.run(['--network', n, '-p', `${hp2}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.match(await httpGet('127.0.0.1', hp2), /tsnet test page/);
    docker(['stop', '-t', '1', third]);
    assert.doesNotMatch(mapElements(), new RegExp(`\\b${hp2}\\b`), 'stop removes the port map');
    docker(['start', third]);
    assert.match(await httpGet('127.0.0.1', hp2), /tsnet test page/, 'start publishes again');
    const thirdIP = s.ip(third, n);
    docker(['network', 'disconnect', n, third]);
    assert.doesNotMatch(mapElements(), new RegExp(`\\b${hp2}\\b`), 'disconnect removes the port map');
    assert.doesNotMatch(mapElements(), new RegExp(`${thirdIP.replace(/\./g, '\\.')}\\b`), 'nothing points at the disconnected address');
  });
});
