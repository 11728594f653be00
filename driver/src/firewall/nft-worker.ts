/**
 * Worker thread owning one libnftables context (loaded through koffi). Every call runs
 * synchronously here, so the driver's event loop never waits on the kernel. With a netns path
 * the thread first enters it (worker/serve.ts; only this thread moves, and the nft netlink
 * socket, opened when the context is created, stays in that namespace).
 */
import * as fs from 'node:fs';
import { NETLINK_NETFILTER, NetlinkSocket } from '../netlink/socket';
import { serveWorker } from '../worker/serve';
import { ensureLegacyAccepts, removeLegacyAccepts } from './legacy';

const koffi = require('koffi');

const NFT_CTX_OUTPUT_HANDLE = 1 << 3;
const NFT_CTX_OUTPUT_JSON = 1 << 4;

export interface NftResult {
  rc: number;
  out: string;
  err: string;
}

/** What the firewall's client (nft.ts) may ask of this thread. */
export class NftContext {
  private readonly runCmd: (ctx: unknown, buf: string) => number;
  private readonly getOutput: (ctx: unknown) => string | null;
  private readonly getError: (ctx: unknown) => string | null;
  private readonly free: (ctx: unknown) => void;
  private ctx: unknown;

  constructor() {
    const lib = koffi.load('libnftables.so.1');
    const nftCtxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
    const setFlags = lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)');
    const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)');
    const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)');
    this.getOutput = lib.func('const char *nft_ctx_get_output_buffer(void *ctx)');
    this.getError = lib.func('const char *nft_ctx_get_error_buffer(void *ctx)');
    this.runCmd = lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)');
    this.free = lib.func('void nft_ctx_free(void *ctx)');
    const ctx = nftCtxNew(0);
    if (!ctx) throw new Error('nft_ctx_new failed');
    // JSON in and out, handles in listings. Never NFT_CTX_OUTPUT_ECHO (reloads the cache each call).
    setFlags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
    if (bufferOutput(ctx) !== 0 || bufferError(ctx) !== 0) throw new Error('nft_ctx_buffer_* failed');
    this.ctx = ctx;
  }

  /** Runs each buffer by its own nft_run_cmd_from_buffer call, in order; `ms` is the time spent in libnftables. */
  run(bufs: string[]): { results: NftResult[]; ms: number } {
    const t0 = process.hrtime.bigint();
    const results: NftResult[] = [];
    for (const buf of bufs) {
      const rc = this.runCmd(this.ctx, buf);
      // Both buffers are rewound on read: read them after every call.
      results.push({ rc, out: this.getOutput(this.ctx) ?? '', err: this.getError(this.ctx) ?? '' });
    }
    return { results, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }

  /**
   * Opens a netfilter netlink socket in this thread's namespace and hands its descriptor over
   * (the caller owns and closes it): the client sends port-map batches on it from its own thread,
   * sparing each a round trip to this one.
   */
  openNetfilterSocket(): number {
    return new NetlinkSocket(NETLINK_NETFILTER).detach();
  }

  /** Names of the iptables-legacy tables of this namespace ("" when ip_tables is not loaded). */
  legacyTables(): string {
    try {
      return fs.readFileSync('/proc/thread-self/net/ip_tables_names', 'utf8');
    } catch {
      return ''; // no ip_tables at all
    }
  }

  /** Adds a bridge's DOCKER-USER accepts in the legacy table; false when there is no such chain. */
  legacyAccept(bridge: string): boolean {
    return ensureLegacyAccepts(bridge);
  }

  legacyRemove(bridge: string): void {
    removeLegacyAccepts(bridge);
  }

  close(): void {
    if (this.ctx) this.free(this.ctx);
    this.ctx = undefined;
  }
}

export const NFT_METHODS = ['run', 'openNetfilterSocket', 'legacyTables', 'legacyAccept', 'legacyRemove'] as const;

serveWorker<NftContext>({ create: () => new NftContext(), methods: NFT_METHODS, close: (c) => c.close() });
