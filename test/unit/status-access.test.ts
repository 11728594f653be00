import { strict as assert } from 'node:assert';
import { statusAccess } from '@tsnet/driver/dist/status/server';

describe('status socket group (status/server statusAccess)', () => {
  it('TSNET_STATUS_GID wins over /etc/group; a docker group in /etc/group is used otherwise', () => {
    assert.deepEqual(statusAccess('998', true, () => undefined), { gid: 998 });
    assert.deepEqual(statusAccess('998', false, () => 117), { gid: 998 });
    assert.deepEqual(statusAccess(undefined, false, () => 117), { gid: 117 });
    assert.deepEqual(statusAccess('', false, () => 117), { gid: 117 });
  });

  it('in the plugin without a GID: root-only, with the docker plugin set command to fix it', () => {
    const a = statusAccess(undefined, true, () => undefined);
    assert.equal(a.gid, undefined);
    assert.match(a.warning ?? '', /root-only/);
    assert.match(a.warning ?? '', /docker plugin set PLUGIN TSNET_STATUS_GID=\$\(getent group docker \| cut -d: -f3\)/);
    assert.match(statusAccess(undefined, false, () => undefined).warning ?? '', /no docker group/);
  });

  it('refuses a GID that is not a number, naming what to give', () => {
    for (const bad of ['docker', '-1', '1.5', '99999999999', '1 2']) {
      assert.throws(() => statusAccess(bad, true, () => undefined), /TSNET_STATUS_GID: ".*" is not a group ID; give the number of the host's docker group/);
    }
  });
});
