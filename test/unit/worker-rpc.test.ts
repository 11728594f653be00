/**
 * The worker RPC (driver/src/worker) with a worker whose calls block its thread for real: calls
 * are answered in order, errors come back as their kind, and a worker that dies (killed or
 * exiting by itself) fails every call in flight with WorkerDiedError and is started again by the
 * next call. The kernel test (test/kernel/worker-death) does the same to the netlink and
 * libnftables workers.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { WorkerClient, WorkerDiedError } from '@tsnet/driver/dist/worker/client';
import type { TestApi } from './fixtures/rpc-worker';

class ExampleError extends Error {}

function client(init?: { refuse?: string }) {
  return new WorkerClient<TestApi, { refuse?: string }>({
    script: path.join(__dirname, 'fixtures/rpc-worker.js'),
    name: 'test worker',
    init,
    decodeError: (e) => (e.kind === 'example' ? new ExampleError(e.message) : undefined),
    startError: (m) => new Error(`refused to start: ${m.message} (errno ${m.errno})`),
  });
}

describe('worker RPC (driver/worker)', () => {
  it('answers calls in the order they were sent, also those made while it starts', async () => {
    const c = client();
    try {
      const order: number[] = [];
      await Promise.all([c.call('block', 30).then(() => order.push(1)), c.call('echo', 2).then(() => order.push(2)), c.call('echo', 3).then(() => order.push(3))]);
      assert.deepEqual(order, [1, 2, 3]);
      assert.deepEqual(await c.call('echo', { a: [1, 'x'] }), { a: [1, 'x'] });
    } finally {
      await c.close();
    }
  });

  it('errors come back as their kind; unknown methods are refused', async () => {
    const c = client();
    try {
      await assert.rejects(c.call('fail', 'nope'), (e: unknown) => e instanceof ExampleError && e.message === 'nope');
      await assert.rejects((c as unknown as WorkerClient<{ other(): void }>).call('other'), /unknown operation other/);
      assert.equal(await c.call('echo', 'still serving'), 'still serving');
      assert.equal(c.restarts, 0);
    } finally {
      await c.close();
    }
  });

  it('killed mid-call: every call in flight fails with WorkerDiedError; the next call starts a fresh worker', async () => {
    const c = client();
    try {
      await c.start();
      const blocked = c.call('block', 20_000);
      const queued = c.call('echo', 'behind it');
      await new Promise((r) => setTimeout(r, 100)); // the worker is inside block() now
      await c.terminate();
      for (const [p, method] of [[blocked, 'block'], [queued, 'echo']] as const) {
        await assert.rejects(p, (e: unknown) => e instanceof WorkerDiedError && e.method === method && e.message === `test worker exited with code 1 during ${method}; whether ${method} took effect is not known; the next call starts the worker again`);
      }
      assert.equal(await c.call('echo', 'again'), 'again');
      assert.equal(c.restarts, 1);
    } finally {
      await c.close();
    }
  });

  it('a worker that ends by itself follows the same rule', async () => {
    const c = client();
    try {
      const behind = c.call('echo', 'x');
      const exit = c.call('exit', 3);
      const after = c.call('echo', 'lost');
      assert.equal(await behind, 'x');
      await assert.rejects(exit, (e: unknown) => e instanceof WorkerDiedError && /^test worker exited with code 3 during exit;/.test(e.message));
      await assert.rejects(after, (e: unknown) => e instanceof WorkerDiedError && e.method === 'echo');
      assert.equal(await c.call('echo', 'new worker'), 'new worker');
    } finally {
      await c.close();
    }
  });

  it('a worker that cannot start fails start() and every waiting call with its reason', async () => {
    const c = client({ refuse: 'no such namespace' });
    const waiting = c.call('echo', 1);
    await assert.rejects(c.start(), /^Error: refused to start: no such namespace \(errno 13\)$/);
    await assert.rejects(waiting, /refused to start: no such namespace/);
    await c.close();
  });

  it('close waits for calls already sent, then refuses new ones', async () => {
    const c = client();
    const sent = c.call('block', 50);
    const closed = c.close();
    await assert.rejects(c.call('echo', 1), /^Error: test worker is closed$/);
    assert.equal(await sent, 50);
    await closed;
    await c.close(); // idempotent
  });
});
