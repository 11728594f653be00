/**
 * Which host ports are taken by a process: the host namespace's /proc/net/{tcp,tcp6,udp,udp6}
 * (listening TCP sockets and bound UDP sockets). Used to refuse a published port already in use.
 */
import * as fs from 'node:fs';

export interface BoundSocket {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  address: string;
  port: number;
}

const TCP_LISTEN = '0A';

function hexToIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function hexToIPv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    const bytes = word.match(/../g)!.reverse().join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':').replace(/\b(?:0:){2,}/, '::').replace(/^0::/, '::').replace(/:::/, '::');
}

export function parseProcNet(text: string, proto: 'tcp' | 'udp', family: 4 | 6): BoundSocket[] {
  const out: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const [addrHex, portHex] = cols[1].split(':');
    if (proto === 'tcp' && cols[3] !== TCP_LISTEN) continue;
    out.push({ proto, family, address: family === 4 ? hexToIPv4(addrHex) : hexToIPv6(addrHex), port: parseInt(portHex, 16) });
  }
  return out;
}

export async function listHostBoundSockets(procNet = '/proc/net'): Promise<BoundSocket[]> {
  const files: [string, 'tcp' | 'udp', 4 | 6][] = [
    ['tcp', 'tcp', 4],
    ['tcp6', 'tcp', 6],
    ['udp', 'udp', 4],
    ['udp6', 'udp', 6],
  ];
  const all: BoundSocket[] = [];
  for (const [file, proto, family] of files) {
    try {
      all.push(...parseProcNet(await fs.promises.readFile(`${procNet}/${file}`, 'utf8'), proto, family));
    } catch {
      /* IPv6 disabled: no file */
    }
  }
  return all;
}
