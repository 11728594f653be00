import { strict as assert } from 'node:assert';
import { modeHint, type TsnetPlugin } from '@tsnet/driver/dist/cli/mode';

const plugin = (over: Partial<TsnetPlugin> = {}): TsnetPlugin => ({ ref: 'tsnet:latest', id: 'a'.repeat(64), enabled: true, statusSocket: '/run/tsnet/status.sock', ...over });

describe('tsnet CLI: error hints fit the mode the driver runs in (cli/mode)', () => {
  it('host process: start it with npm start, or with systemctl once the service is installed', () => {
    assert.match(modeHint('not-running', '/run/tsnet/status.sock', [], false), /^start it with npm start in a tsnet clone/);
    assert.equal(modeHint('not-running', '/run/tsnet/status.sock', [], true), 'start it with: systemctl start tsnet');
    assert.match(modeHint('not-running', '/run/tsnet/status.sock', undefined, false), /npm start/);
  });

  it('managed plugin disabled: enable it, not npm start', () => {
    const h = modeHint('not-running', '/run/tsnet/status.sock', [plugin({ enabled: false })], false);
    assert.equal(h, 'the managed plugin tsnet:latest is disabled; enable it with: docker plugin enable tsnet:latest');
  });

  it('managed plugin enabled without its socket: dockerd\'s log, by plugin id', () => {
    assert.match(modeHint('not-running', '/run/tsnet/status.sock', [plugin()], false), /see dockerd's log \(lines with plugin=aaaaaaaaaaaa\)/);
  });

  it('a plugin serving another socket: the flag that reaches it', () => {
    const h = modeHint('not-running', '/run/tsnet/status.sock', [plugin({ ref: 'tsnetp:latest', statusSocket: '/run/tsnetp/status.sock' })], false);
    assert.equal(h, 'the tsnet managed plugin tsnetp:latest serves its status API on /run/tsnetp/status.sock: tsnet status --status-socket /run/tsnetp/status.sock (or set TSNET_STATUS_SOCKET)');
  });

  it('permission denied: docker group on a host process; the TSNET_STATUS_GID setting on a plugin', () => {
    assert.equal(modeHint('denied', '/run/tsnet/status.sock', [], false), 'run as root or as a member of the docker group');
    const root = modeHint('denied', '/run/tsnet/status.sock', [plugin()], false);
    assert.match(root, /root only \(no TSNET_STATUS_GID set\)/);
    assert.match(root, /docker plugin set tsnet:latest TSNET_STATUS_GID=\$\(getent group docker \| cut -d: -f3\)/);
    assert.match(modeHint('denied', '/run/tsnet/status.sock', [plugin({ statusGid: '999' })], false), /group 999/);
  });
});
