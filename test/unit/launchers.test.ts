/**
 * Every way the driver is started passes the same Node/V8 options (driver/src/node-flags.ts):
 * npm start, the systemd unit, the managed plugin (Dockerfile and config.json entrypoints), the
 * multi-host harness, the tests' and the benchmarks' driver processes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DRIVER_NODE_FLAGS } from '@tsnet/driver/dist/node-flags';

const REPO = path.resolve(__dirname, '../../..');
const read = (f: string) => fs.readFileSync(path.join(REPO, f), 'utf8');

describe('driver launchers', () => {
  const launchers: [file: string, line: RegExp][] = [
    ['scripts/start-driver.sh', /node .*driver\/dist\/main\.js/],
    ['scripts/service.sh', /^ExecStart=.*driver\/dist\/main\.js/m],
    ['scripts/multihost.sh', /"\$NODE" .*driver\/dist\/main\.js/],
    ['Dockerfile', /^ENTRYPOINT .*main\.js/m],
  ];
  for (const [file, re] of launchers) {
    it(`${file} starts node with ${DRIVER_NODE_FLAGS.join(' ')}`, () => {
      const line = re.exec(read(file))?.[0];
      assert.ok(line, `no driver start found in ${file}`);
      for (const f of DRIVER_NODE_FLAGS) assert.ok(line.includes(f), `${file}: ${line}`);
    });
  }

  it('the plugin config\'s entrypoint passes them before the script', () => {
    const ep = (JSON.parse(read('plugin-config/config.json')) as { entrypoint: string[] }).entrypoint;
    const main = ep.findIndex((a) => a.endsWith('driver/dist/main.js'));
    assert.ok(main > 0, ep.join(' '));
    for (const f of DRIVER_NODE_FLAGS) assert.ok(ep.indexOf(f) > 0 && ep.indexOf(f) < main, ep.join(' '));
  });

  it('the tests\' and the benchmarks\' driver processes pass them', () => {
    for (const f of ['test/helpers/docker.ts', 'bench/src/driver.ts']) assert.match(read(f), /\[\.\.\.DRIVER_NODE_FLAGS, main,/, f);
  });

  it('node and V8 accept every flag (a misspelt one stops node at start)', async () => {
    const { spawnSync } = await import('node:child_process');
    const bad = spawnSync(process.execPath, ['--optimise-for-size', '-e', '0'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'a misspelt flag must be refused, or this test proves nothing');
    for (const f of DRIVER_NODE_FLAGS) {
      const r = spawnSync(process.execPath, [f, '-e', 'process.stdout.write(process.execArgv.join(" "))'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
      assert.equal(r.stdout.split(" ")[0], f);
    }
  });

  it('V8 takes the flags from the command line (the young generation stays small)', async () => {
    const { execFileSync } = await import('node:child_process');
    // Allocation-heavy work like a burst of calls: without the flag the semi-space grows to MBs.
    const script = "const v8=require('v8');let k=[];for(let i=0;i<3e5;i++){k.push({i,s:'x'+i});if(k.length>1000)k=[]}const s=v8.getHeapSpaceStatistics().find(x=>x.space_name==='new_space');console.log(s.space_size)";
    const size = Number(execFileSync(process.execPath, [...DRIVER_NODE_FLAGS, '-e', script], { encoding: 'utf8' }).trim());
    assert.ok(size <= 3 * 1024 * 1024, `new space ${size} bytes`);
  });
});
