/**
 * The plugin socket keeps an idle keep-alive connection open well past Node's 5 s default, so a
 * client that reuses it (dockerd keeps its plugin connections) never races the server's close
 * and gets EPIPE instead of an answer.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { driver } from './env';
import { DRIVER_NAME, EXTERNAL_DRIVER, docker, sleep } from '../helpers/docker';

/** The socket dockerd talks to: the host driver's, or the managed plugin's (under its ID). */
function pluginSocket(): string {
  if (!EXTERNAL_DRIVER) return driver.socket;
  const [id, sock] = docker(['plugin', 'inspect', '-f', '{{.Id}} {{.Config.Interface.Socket}}', DRIVER_NAME]).split(' ');
  return `/run/docker/plugins/${id}/${sock}`;
}

function capabilities(agent: http.Agent, socketPath: string): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, socketPath, method: 'POST', path: '/NetworkDriver.GetCapabilities', headers: { 'Content-Type': 'application/json' }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.end('{}');
  });
}

describe('plugin socket: keep-alive connections', function () {
  this.timeout(30_000);

  it('an idle keep-alive connection is still open and answers after 7 s (Node closes one after 5 s by default)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const socketPath = pluginSocket();
    try {
      const first = await capabilities(agent, socketPath);
      assert.match(first.body, /"Scope"/);
      let closed = false;
      const free = Object.values(agent.freeSockets).flat();
      assert.equal(free.length, 1, 'the connection went back to the pool');
      free[0]!.once('close', () => (closed = true));
      await sleep(7000);
      assert.equal(closed, false, 'the server closed the idle connection');
      const second = await capabilities(agent, socketPath);
      assert.equal(second.reused, true, 'the second request went over the same connection');
      assert.match(second.body, /"Scope"/);
    } finally {
      agent.destroy();
    }
  });
});
