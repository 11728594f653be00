/**
 * The iptables-legacy DOCKER-USER entries (driver/src/firewall/legacy.ts) byte by byte: the kernel
 * compares interface names as bytes, so a bridge name goes in as UTF-8 with a mask over exactly
 * its bytes and the NUL (issue 13: it was written as latin1).
 */
import * as assert from 'node:assert/strict';
import { acceptEntry, ifaceAt } from '@tsnet/driver/dist/firewall/legacy';

const IN = 16;
const IN_MASK = 48;
const OUT = 32;

describe('iptables-legacy entries (pure)', () => {
  it('writes a non-ASCII bridge name as its UTF-8 bytes, masked over exactly those bytes and the NUL', () => {
    const name = 'brü-ñ'; // 7 bytes in UTF-8, 5 characters
    const e = acceptEntry('in', name);
    const utf8 = Buffer.from(name, 'utf8');
    assert.deepEqual(e.subarray(IN, IN + utf8.length), utf8);
    assert.equal(e[IN + utf8.length], 0);
    assert.deepEqual([...e.subarray(IN_MASK, IN_MASK + 16)], [...Array(utf8.length + 1).fill(0xff), ...Array(16 - utf8.length - 1).fill(0)]);
    assert.equal(ifaceAt(e, IN), name, 'read back as the same name');
    assert.equal(ifaceAt(e, OUT), '');
  });

  it('refuses names the kernel or the match cannot hold', () => {
    assert.throws(() => acceptEntry('out', 'ü'.repeat(8)), /invalid interface name/, '16 bytes');
    assert.throws(() => acceptEntry('out', 'br*'), /invalid interface name/);
    assert.throws(() => acceptEntry('out', ''), /invalid interface name/);
    assert.doesNotThrow(() => acceptEntry('out', 'ü'.repeat(7) + 'a'), '15 bytes');
  });
});
