/**
 * driver/scripts/bundle-plugin.js, the plugin's /opt/tsnet without a node_modules tree: the
 * exact file layout, each program runs its part of the one bundle, koffi loads its native module
 * from the shipped copy, and what was left out throws naming itself. Runs on the host's Node; the
 * plugin image (test/plugin/image.test.ts) runs it on the Node it ships.
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleFiles, filesBelow } from '../helpers/plugin';

const REPO = path.resolve(__dirname, '..', '..', '..');

describe('plugin bundle (driver/scripts/bundle-plugin.js)', function () {
  this.timeout(60_000);
  let out: string;
  before(() => {
    // Outside the repository, so nothing resolves from the repository's node_modules.
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bundle-'));
    execFileSync(process.execPath, [path.join(REPO, 'driver/scripts/bundle-plugin.js'), out], { stdio: 'pipe' });
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('makes one bundle, a one-line file per program and koffi\'s native module for this machine only', () => {
    assert.deepEqual(filesBelow(out).sort(), bundleFiles().sort());
    assert.equal(fs.readFileSync(path.join(out, 'driver/dist/main.js'), 'utf8'), "'use strict';\nrequire('./tsnet-bundle.js').driver();\n");
    assert.equal(fs.readFileSync(path.join(out, 'plugin-preload.cjs'), 'utf8'), "'use strict';\nrequire('./driver/dist/tsnet-bundle.js').preload();\n");
  });

  it('the driver loads every module it imports from the bundle (etcd3 reads its proto files at load) and parses its arguments', () => {
    const usage = execFileSync(process.execPath, [path.join(out, 'driver/dist/main.js'), '--help'], { encoding: 'utf8', cwd: out });
    assert.match(usage, /^usage: node driver\/dist\/main\.js \[options\]/);
    assert.match(usage, /--etcd URL/);
  });

  it('the CLI runs from the bundle and reports the driver\'s version', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'driver/package.json'), 'utf8')) as { version: string };
    assert.equal(execFileSync(process.execPath, [path.join(out, 'driver/dist/tsnet.js'), '--version'], { encoding: 'utf8' }).trim(), `tsnet ${version}`);
  });

  it('koffi loads its native module from the shipped copy', () => {
    const code = `const k = require(${JSON.stringify(path.join(out, 'driver/dist/tsnet-bundle.js'))}).koffi();
const libc = k.load('libc.so.6');
process.stdout.write(JSON.stringify({ version: k.version, pid: libc.func('int getpid(void)')(), native: Object.keys(require.cache).filter((f) => f.endsWith('.node')) }));`;
    const r = JSON.parse(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: out })) as { version: string; pid: number; native: string[] };
    assert.match(r.version, /^\d+\.\d+\.\d+$/);
    assert.ok(r.pid > 0);
    assert.deepEqual(r.native, [path.join(out, `node_modules/@koromix/koffi-${process.platform}-${process.arch}/${process.platform}_${process.arch}/koffi.node`)]);
  });

  it('leaves out iconv-lite\'s CJK tables and zod\'s non-English messages, each replaced by a module that throws naming it', () => {
    const bundle = fs.readFileSync(path.join(out, 'driver/dist/tsnet-bundle.js'), 'utf8');
    assert.match(bundle, /tsnet: node_modules\/[^"]*iconv-lite\/encodings\/tables\/shiftjis\.json is not bundled with the plugin/);
    assert.match(bundle, /tsnet: node_modules\/zod\/v4\/locales\/de\.cjs is not bundled with the plugin/);
    assert.doesNotMatch(bundle, /tsnet: node_modules\/zod\/v4\/locales\/en\.cjs is not bundled/);
    // iconv-lite installed twice at one version (body-parser's and raw-body's) is bundled once.
    assert.doesNotMatch(bundle, /raw-body\/node_modules\/iconv-lite/);
  });

  it('has a part for every worker thread the driver starts by path (path.join(__dirname, NAME.js) in driver/src)', () => {
    const { PARTS } = require(path.join(REPO, 'driver/scripts/bundle-plugin.js')) as { PARTS: Record<string, { name: string; module: string }> };
    const src = path.join(REPO, 'driver/src');
    const workers = filesBelow(src)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...fs.readFileSync(path.join(src, f), 'utf8').matchAll(/path\.join\(__dirname,\s*'([\w.-]+\.js)'\)/g)].map((m) => ({ from: f, file: m[1] })));
    assert.ok(workers.length >= 3, `found only ${JSON.stringify(workers)}`);
    for (const w of workers) {
      const part = PARTS[`driver/dist/${w.file}`];
      assert.ok(part, `driver/src/${w.from} starts ${w.file} by path, but driver/scripts/bundle-plugin.js has no part driver/dist/${w.file}`);
      // The part runs the compiled module that sits next to the file starting it.
      assert.equal(path.posix.normalize(part.module), path.posix.join(path.posix.dirname(w.from), w.file), `part driver/dist/${w.file}`);
      assert.equal(fs.readFileSync(path.join(out, 'driver/dist', w.file), 'utf8'), `'use strict';\nrequire('./tsnet-bundle.js').${part.name}();\n`);
    }
  });
});
