/**
 * The HTTP → core boundary: request types are the zod schemas' (the core gets exactly what the
 * schema let through, with no cast), and errors become {"Err"} by their class, not their name.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createApp, errorMessage, RequestError, TimeoutError } from '@tsnet/driver/dist/api/app';
import { ConflictError, DriverError, NotFoundError } from '@tsnet/driver/dist/core/errors';
import { Metrics } from '@tsnet/driver/dist/core/metrics';
import { NftError } from '@tsnet/driver/dist/firewall/nft';
import { NetlinkError } from '@tsnet/driver/dist/netlink/types';
import { createNetworkRequestSchema, joinRequestSchema, OptionError, type CreateNetworkRequest, type JoinRequest } from '@tsnet/shared';
import type { Driver } from '@tsnet/driver/dist/core/driver';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const repo = path.join(__dirname, '../../..');

function post(socketPath: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ socketPath, method: 'POST', path: `/${method}`, headers: { 'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('remote API boundary: zod request types, errors by class', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-api-boundary-'));
  const sock = path.join(dir, 'p.sock');
  let server: http.Server;
  const seen: { createNetwork?: CreateNetworkRequest; join?: JoinRequest } = {};
  let failWith: unknown;

  before(async () => {
    const core: Pick<Driver, 'createNetwork' | 'join' | 'leave'> = {
      createNetwork: async (req) => {
        seen.createNetwork = req;
      },
      join: async (req) => {
        seen.join = req;
        return { InterfaceName: { SrcName: 'x', DstPrefix: 'eth' } };
      },
      leave: async () => {
        throw failWith;
      },
    };
    const app = createApp(core as Driver, new Metrics(), quiet, { requestTimeoutMs: 5000 });
    server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(sock, () => resolve(s));
    });
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the core receives what the schema parsed (nulls kept, extra fields allowed)', async () => {
    const body = { NetworkID: 'n1', Options: { 'com.docker.network.generic': { a: 'b' } }, IPv4Data: [{ Pool: '10.1.0.0/24', Gateway: '10.1.0.1/24', AuxAddresses: null }], IPv6Data: null, Future: 1 };
    assert.deepEqual(await post(sock, 'NetworkDriver.CreateNetwork', body), {});
    assert.deepEqual(seen.createNetwork, createNetworkRequestSchema.parse(body));
    assert.deepEqual(await post(sock, 'NetworkDriver.Join', { NetworkID: 'n1', EndpointID: 'e1', SandboxKey: '/var/run/docker/netns/x' }), { InterfaceName: { SrcName: 'x', DstPrefix: 'eth' } });
    assert.deepEqual(seen.join, joinRequestSchema.parse({ NetworkID: 'n1', EndpointID: 'e1', SandboxKey: '/var/run/docker/netns/x' }));
  });

  it('a body that does not fit is refused before the core, naming the field', async () => {
    seen.join = undefined;
    const r = await post(sock, 'NetworkDriver.Join', { NetworkID: 'n1', EndpointID: 'e1', SandboxKey: 7 });
    assert.match(String(r.Err), /^Join: invalid request \(SandboxKey: /);
    assert.equal(seen.join, undefined);
  });

  it('kernel refusals (NetlinkError, NftError) are named as such; the rest pass their sentence through', async () => {
    const cases: [unknown, string][] = [
      [new NetlinkError('File exists', 17, 'newlink'), 'Leave: the kernel refused: File exists'],
      [new NftError('nftables: Could not process rule', 1, 'x'), 'Leave: the kernel refused: nftables: Could not process rule'],
      [new DriverError('plain driver error'), 'plain driver error'],
      [new ConflictError('taken'), 'taken'],
      [new NotFoundError('endpoint', 'abcdef0123456789'), 'no such endpoint abcdef012345 in tsnet (was it created while another driver served "tsnet", or removed already?)'],
      [new OptionError('option x: bad'), 'option x: bad'],
      [new RequestError('Leave: bad body'), 'Leave: bad body'],
      [new TimeoutError('Leave: timed out'), 'Leave: timed out'],
      [Object.assign(new Error('looks like one by name only'), { name: 'NetlinkError' }), 'looks like one by name only'],
      ['a string', 'a string'],
    ];
    for (const [err, expected] of cases) {
      failWith = err;
      assert.deepEqual(await post(sock, 'NetworkDriver.Leave', { NetworkID: 'n1', EndpointID: 'e1' }), { Err: expected }, String(err));
      assert.equal(errorMessage('NetworkDriver.Leave', err), expected);
    }
  });

  it('no cast at the boundary, and remote-api.ts declares no request type by hand', () => {
    const app = fs.readFileSync(path.join(repo, 'driver/src/api/app.ts'), 'utf8');
    assert.doesNotMatch(app, /as never|as unknown as|err\.name ===/);
    const api = fs.readFileSync(path.join(repo, 'shared/src/remote-api.ts'), 'utf8');
    assert.doesNotMatch(api, /interface \w*Request\b/);
    for (const m of api.matchAll(/export type (\w*Request) = (.*);/g)) assert.match(m[2], /^z\.infer<typeof \w+Schema>$/, m[1]);
  });
});
