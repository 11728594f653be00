/**
 * Worker thread owning one libnftables context (loaded through koffi). Every request runs
 * synchronously here, so the driver's event loop never waits on the kernel. With a netns path
 * the thread first setns()'s into it (only this thread moves; the nft netlink socket, opened
 * when the context is created, stays in that namespace).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { ensureLegacyAccepts, removeLegacyAccepts } from './legacy';

const koffi = require('koffi');

const NFT_CTX_OUTPUT_HANDLE = 1 << 3;
const NFT_CTX_OUTPUT_JSON = 1 << 4;
const CLONE_NEWNET = 0x40000000;

export interface WorkerRequest {
  id: number;
  op: 'run' | 'legacyTables' | 'legacyAccept' | 'legacyRemove';
  /** The bridge, for the legacy ops. */
  bridge?: string;
  /** Each buffer is run by its own nft_run_cmd_from_buffer call, in order. */
  bufs?: string[];
}
export interface WorkerResult {
  rc: number;
  out: string;
  err: string;
}
export interface WorkerReply {
  id: number;
  results: WorkerResult[];
  /** Time spent in libnftables (ms). */
  ms: number;
}

function main(): void {
  const { netnsPath } = (workerData ?? {}) as { netnsPath?: string };
  if (netnsPath) {
    const libc = koffi.load('libc.so.6');
    const setns = libc.func('int setns(int fd, int nstype)');
    const fd = fs.openSync(netnsPath, 'r');
    try {
      if (setns(fd, CLONE_NEWNET) !== 0) throw new Error(`setns(${netnsPath}) failed`);
    } finally {
      fs.closeSync(fd);
    }
  }
  const lib = koffi.load('libnftables.so.1');
  const nftCtxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
  const setFlags = lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)');
  const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)');
  const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)');
  const getOutput = lib.func('const char *nft_ctx_get_output_buffer(void *ctx)');
  const getError = lib.func('const char *nft_ctx_get_error_buffer(void *ctx)');
  const runCmd = lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)');

  const ctx = nftCtxNew(0);
  if (!ctx) throw new Error('nft_ctx_new failed');
  // JSON in and out, handles in listings. Never NFT_CTX_OUTPUT_ECHO (reloads the cache each call).
  setFlags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  if (bufferOutput(ctx) !== 0 || bufferError(ctx) !== 0) throw new Error('nft_ctx_buffer_* failed');

  parentPort!.on('message', (req: WorkerRequest) => {
    const t0 = process.hrtime.bigint();
    let reply: WorkerReply;
    if (req.op === 'legacyAccept' || req.op === 'legacyRemove') {
      let result: WorkerResult;
      try {
        if (req.op === 'legacyAccept') result = { rc: ensureLegacyAccepts(req.bridge!) ? 0 : 1, out: '', err: '' };
        else result = (removeLegacyAccepts(req.bridge!), { rc: 0, out: '', err: '' });
      } catch (e) {
        result = { rc: 2, out: '', err: (e as Error).message };
      }
      reply = { id: req.id, results: [result], ms: 0 };
    } else if (req.op === 'legacyTables') {
      let names = '';
      try {
        names = fs.readFileSync('/proc/thread-self/net/ip_tables_names', 'utf8');
      } catch {
        /* no ip_tables at all */
      }
      reply = { id: req.id, results: [{ rc: 0, out: names, err: '' }], ms: 0 };
    } else {
      const results: WorkerResult[] = [];
      for (const buf of req.bufs ?? []) {
        const rc: number = runCmd(ctx, buf);
        // Both buffers are rewound on read: read them after every call.
        const out: string = getOutput(ctx) ?? '';
        const err: string = getError(ctx) ?? '';
        results.push({ rc, out, err });
      }
      reply = { id: req.id, results, ms: 0 };
    }
    reply.ms = Number(process.hrtime.bigint() - t0) / 1e6;
    parentPort!.postMessage(reply);
  });
  parentPort!.postMessage({ id: 0, results: [], ms: 0 } satisfies WorkerReply);
}

main();
