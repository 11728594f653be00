/**
 * "The outside world" for Docker tests, kept on this machine: a namespace made by the test with a
 * veth to the host. The host side gets HOST_IP (standing for a host address on a real uplink),
 * the namespace side PEER_IP, with a default route back through the host. Traffic from tests goes
 * only to these addresses.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sh } from './docker';

export interface Outside {
  ns: string;
  hostIf: string;
  hostIP: string;
  peerIP: string;
  hostIP6: string;
  peerIP6: string;
  /** Runs a command in the namespace. */
  exec(cmd: string, args: string[], timeoutMs?: number): string;
  /** A TCP server in the namespace that answers each connection with the peer address it saw. */
  echoPeerServer(port: number): Promise<ChildProcess>;
  cleanup(): void;
}

const children: ChildProcess[] = [];

export function createOutside(): Outside {
  const tag = randomBytes(2).toString('hex');
  const routes = sh('ip', ['route', 'show']);
  let k = parseInt(tag, 16) % 60;
  while (routes.includes(`10.231.253.${k * 4}/30`)) k = (k + 1) % 60;
  const ns = `tst-out-${tag}`;
  const hostIf = `tst-o${tag}`;
  const hostIP = `10.231.253.${k * 4 + 1}`;
  const peerIP = `10.231.253.${k * 4 + 2}`;
  const hostIP6 = `fd00:231:fd${k.toString(16).padStart(2, '0')}::1`;
  const peerIP6 = `fd00:231:fd${k.toString(16).padStart(2, '0')}::2`;
  const run = (args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  run(['netns', 'add', ns]);
  try {
    run(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    run(['addr', 'add', `${hostIP}/30`, 'dev', hostIf]);
    run(['-6', 'addr', 'add', `${hostIP6}/64`, 'dev', hostIf, 'nodad']);
    run(['link', 'set', hostIf, 'up']);
    run(['-n', ns, 'link', 'set', 'lo', 'up']);
    run(['-n', ns, 'addr', 'add', `${peerIP}/30`, 'dev', 'eth0']);
    run(['-n', ns, '-6', 'addr', 'add', `${peerIP6}/64`, 'dev', 'eth0', 'nodad']);
    run(['-n', ns, 'link', 'set', 'eth0', 'up']);
    run(['-n', ns, 'route', 'add', 'default', 'via', hostIP]);
    run(['-n', ns, '-6', 'route', 'add', 'default', 'via', hostIP6]);
  } catch (e) {
    try { run(['link', 'del', hostIf]); } catch { /* not made */ }
    run(['netns', 'del', ns]);
    throw e;
  }
  return {
    ns,
    hostIf,
    hostIP,
    peerIP,
    hostIP6,
    peerIP6,
    exec(cmd, args, timeoutMs = 15_000) {
      return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' }).trim();
    },
    async echoPeerServer(port) {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `require('net').createServer(s=>{s.end(s.remoteAddress.replace('::ffff:','')+'\\n')}).listen(${port},'::',()=>console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('echo server did not start')), 10_000);
        child.stdout!.once('data', () => { clearTimeout(t); resolve(); });
      });
      return child;
    },
    cleanup() {
      for (const c of children.splice(0)) c.kill('SIGKILL');
      try { run(['link', 'del', hostIf]); } catch { /* gone with the namespace */ }
      try { run(['netns', 'del', ns]); } catch { /* already gone */ }
    },
  };
}

/** Connects from the namespace (busybox nc) and returns what the server said. */
export function nsRequest(o: Outside, ip: string, port: number): string {
  return o.exec('sh', ['-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`]);
}
