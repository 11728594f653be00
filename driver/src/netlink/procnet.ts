/**
 * Parsing of /proc/<thread>/net/{tcp,udp,tcp6,udp6}: the sockets of the namespace the reading
 * thread is in. Pure, so it is unit-tested on captured text.
 */
import { bytesToIP } from '@tsnet/shared';
import type { SocketInfo } from './types';

const TCP_LISTEN = 0x0a;
const TCP_ESTABLISHED = 0x01;
const TCP_CLOSE = 0x07;

/** The kernel prints each 32-bit word of the address with %08X in host (little-endian) order. */
export function decodeProcAddress(hex: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const word = Buffer.alloc(4);
    word.writeUInt32LE(parseInt(hex.slice(i, i + 8), 16) >>> 0, 0);
    bytes.push(...word);
  }
  return bytesToIP(bytes);
}

/** TCP: listeners only. UDP: every bound socket ("UNCONN", or "ESTAB" when connected). */
export function parseProcNet(proto: SocketInfo['proto'], text: string): SocketInfo[] {
  const out: SocketInfo[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const [addrHex, portHex] = f[1].split(':');
    const st = parseInt(f[3], 16);
    let state: string;
    if (proto.startsWith('tcp')) {
      if (st !== TCP_LISTEN) continue;
      state = 'LISTEN';
    } else if (st === TCP_CLOSE) state = 'UNCONN';
    else if (st === TCP_ESTABLISHED) state = 'ESTAB';
    else continue;
    out.push({ proto, localAddress: decodeProcAddress(addrHex), localPort: parseInt(portHex, 16), state });
  }
  return out;
}
