/**
 * DOCKER-USER accepts on hosts whose iptables is the legacy (x_tables) backend, where Docker's
 * chains live outside nftables. Written with libip4tc through koffi (no `iptables` process):
 * two rules per bridge, `-i BRIDGE -j ACCEPT` and `-o BRIDGE -j ACCEPT`, inserted at the top, and
 * found again by exactly that shape when removed. Runs in the firewall worker (its namespace).
 */
const koffi = require('koffi');

const CHAIN = 'DOCKER-USER';
/** sizeof(struct ipt_entry) on x86_64/aarch64, and of an ACCEPT xt_standard_target. */
const ENTRY_SIZE = 112;
const TARGET_SIZE = 40;
const IFACE_OFF = { in: 16, out: 32, inMask: 48, outMask: 64 };

interface Libiptc {
  init(table: string): unknown;
  isChain(chain: string, h: unknown): number;
  first(chain: string, h: unknown): unknown;
  next(prev: unknown, h: unknown): unknown;
  target(e: unknown, h: unknown): string;
  insert(chain: string, e: Buffer, n: number, h: unknown): number;
  deleteNum(chain: string, n: number, h: unknown): number;
  commit(h: unknown): number;
  free(h: unknown): void;
  strerror(e: number): string;
}

let lib: Libiptc | undefined;
function iptc(): Libiptc {
  if (lib) return lib;
  const l = koffi.load('libip4tc.so.2');
  lib = {
    init: l.func('void *iptc_init(const char *table)'),
    isChain: l.func('int iptc_is_chain(const char *chain, void *h)'),
    first: l.func('void *iptc_first_rule(const char *chain, void *h)'),
    next: l.func('void *iptc_next_rule(void *prev, void *h)'),
    target: l.func('const char *iptc_get_target(void *e, void *h)'),
    insert: l.func('int iptc_insert_entry(const char *chain, const uint8_t *e, unsigned int rulenum, void *h)'),
    deleteNum: l.func('int iptc_delete_num_entry(const char *chain, unsigned int rulenum, void *h)'),
    commit: l.func('int iptc_commit(void *h)'),
    free: l.func('void iptc_free(void *h)'),
    strerror: l.func('const char *iptc_strerror(int err)'),
  };
  return lib;
}

/** An `ipt_entry` matching only the in- or out-interface, with an ACCEPT target. */
export function acceptEntry(direction: 'in' | 'out', bridge: string): Buffer {
  // The kernel compares interface names as bytes: the name goes in as UTF-8, as the kernel holds it.
  const bytes = Buffer.from(bridge, 'utf8');
  if (bytes.length < 1 || bytes.length > 15 || /[\s/*]/.test(bridge)) throw new Error(`invalid interface name ${JSON.stringify(bridge)}`);
  const b = Buffer.alloc(ENTRY_SIZE + TARGET_SIZE);
  const name = direction === 'in' ? IFACE_OFF.in : IFACE_OFF.out;
  const mask = direction === 'in' ? IFACE_OFF.inMask : IFACE_OFF.outMask;
  bytes.copy(b, name);
  for (let i = 0; i <= bytes.length; i++) b[mask + i] = 0xff; // exact name (and its NUL), as `-i NAME`
  b.writeUInt16LE(ENTRY_SIZE, 88); // target_offset
  b.writeUInt16LE(ENTRY_SIZE + TARGET_SIZE, 90); // next_offset
  b.writeUInt16LE(TARGET_SIZE, ENTRY_SIZE); // target_size
  b.write('ACCEPT', ENTRY_SIZE + 2, 'latin1');
  return b;
}

function withTable<T>(fn: (l: Libiptc, h: unknown) => T): T {
  const l = iptc();
  const h = l.init('filter');
  if (!h) throw new Error(`iptables-legacy: cannot open the filter table: ${l.strerror(koffi.errno())}`);
  try {
    return fn(l, h);
  } finally {
    l.free(h);
  }
}

/** The NUL-terminated UTF-8 interface name at `off` of an ipt_entry. */
export function ifaceAt(raw: Buffer, off: number): string {
  const field = raw.subarray(off, off + 16);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? 16 : end);
}

/** Rule numbers (0-based) of tsnet's accepts for `bridge` in DOCKER-USER. */
function ours(l: Libiptc, h: unknown, bridge: string): number[] {
  const found: number[] = [];
  let i = 0;
  for (let e = l.first(CHAIN, h); e; e = l.next(e, h), i++) {
    const raw = Buffer.from(koffi.view(e, ENTRY_SIZE));
    const inIf = ifaceAt(raw, IFACE_OFF.in);
    const outIf = ifaceAt(raw, IFACE_OFF.out);
    const onlyIface = raw.readUInt32LE(0) === 0 && raw.readUInt32LE(4) === 0 && raw.readUInt16LE(80) === 0;
    if (onlyIface && l.target(e, h) === 'ACCEPT' && ((inIf === bridge && outIf === '') || (outIf === bridge && inIf === ''))) found.push(i);
  }
  return found;
}

/** Makes sure both accepts are at the top of DOCKER-USER; false when there is no such chain. */
export function ensureLegacyAccepts(bridge: string): boolean {
  return withTable((l, h) => {
    if (!l.isChain(CHAIN, h)) return false;
    if (ours(l, h, bridge).length === 2) return true;
    for (const n of ours(l, h, bridge).reverse()) l.deleteNum(CHAIN, n, h);
    for (const dir of ['out', 'in'] as const) {
      if (!l.insert(CHAIN, acceptEntry(dir, bridge), 0, h)) throw new Error(`iptables-legacy: cannot insert into ${CHAIN}: ${l.strerror(koffi.errno())}`);
    }
    if (!l.commit(h)) throw new Error(`iptables-legacy: commit failed: ${l.strerror(koffi.errno())}`);
    return true;
  });
}

/** Removes tsnet's accepts for `bridge`; absent ones are not an error. */
export function removeLegacyAccepts(bridge: string): void {
  withTable((l, h) => {
    if (!l.isChain(CHAIN, h)) return;
    const found = ours(l, h, bridge);
    if (found.length === 0) return;
    for (const n of found.reverse()) l.deleteNum(CHAIN, n, h);
    if (!l.commit(h)) throw new Error(`iptables-legacy: commit failed: ${l.strerror(koffi.errno())}`);
  });
}
