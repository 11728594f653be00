/**
 * What the managed plugin's image holds (docs/plugin.md, "Image and rootfs size"): the current
 * Node LTS, which is the binary the running driver executes; the driver as one esbuild bundle with
 * no node_modules tree but koffi's native module for this machine; no npm, no headers; and an
 * image under 120 MB as `docker image inspect` counts it.
 * Needs the plugin installed and enabled (scripts/test-plugin.sh does that).
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLUGIN_NAME, PLUGIN_REF, PLUGIN_TAG, bundleFiles, filesBelow, pluginPid } from '../helpers/plugin';

const REF = PLUGIN_REF;
const IMAGE = process.env.TSNET_PLUGIN_IMAGE ?? `${PLUGIN_NAME}-plugin-rootfs:${PLUGIN_TAG}`;
/** Node 24 is the active LTS line (Node 20 reached end of life in April 2026). */
const NODE_MAJOR = 24;
const SIZE_LIMIT = 120_000_000;

const docker = (args: string[]) => execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();

describe(`managed plugin ${REF}: image contents and size`, function () {
  this.timeout(120_000);
  let rootfs: string;
  before(function () {
    if (process.getuid?.() !== 0) throw new Error('missing prerequisite: needs root');
    assert.equal(docker(['plugin', 'inspect', '-f', '{{.Enabled}}', REF]), 'true', `${REF} is not enabled`);
    rootfs = path.join(docker(['info', '-f', '{{.DockerRootDir}}']), 'plugins', docker(['plugin', 'inspect', '-f', '{{.Id}}', REF]), 'rootfs');
    assert.ok(fs.existsSync(rootfs), `the plugin's rootfs is at ${rootfs}`);
  });

  it(`the driver runs Node ${NODE_MAJOR}, the current LTS, from the plugin's rootfs`, function () {
    const node = path.join(rootfs, 'usr/local/bin/node');
    const exe = fs.statSync(`/proc/${pluginPid()}/exe`);
    const shipped = fs.statSync(node);
    assert.deepEqual([exe.dev, exe.ino], [shipped.dev, shipped.ino], 'the driver process executes the rootfs\'s node');
    // Run that binary on the host with the rootfs's own loader and libraries, as bin/tsnet does.
    const ld = path.join(rootfs, 'usr/lib64/ld-linux-x86-64.so.2');
    const libs = path.join(rootfs, 'usr/lib/x86_64-linux-gnu');
    const version = execFileSync(ld, ['--library-path', libs, node, '-p', 'process.versions.node'], { encoding: 'utf8', timeout: 30_000 }).trim();
    assert.equal(Number(version.split('.')[0]), NODE_MAJOR, `node ${version}`);
  });

  it('ships the driver as one bundle plus koffi\'s native module for this machine: no node_modules tree, npm or headers', function () {
    assert.deepEqual(filesBelow(path.join(rootfs, 'opt/tsnet')).sort(), ['bin/tsnet', ...bundleFiles()].sort());
    // The preload too runs from the bundle (koffi is not a module of its own in the rootfs).
    assert.match(fs.readFileSync(path.join(rootfs, 'opt/tsnet/plugin-preload.cjs'), 'utf8'), /require\('\.\/driver\/dist\/tsnet-bundle\.js'\)\.preload\(\)/);
    for (const absent of ['usr/local/lib/node_modules', 'usr/local/include', 'usr/local/bin/npm', 'usr/local/bin/npx', 'usr/local/bin/corepack', 'usr/share/doc']) {
      assert.ok(!fs.existsSync(path.join(rootfs, absent)), `${absent} is not in the rootfs`);
    }
  });

  it(`the image is under ${SIZE_LIMIT / 1e6} MB (docker image inspect)`, function () {
    const size = Number(docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE]));
    process.stdout.write(`      ${IMAGE}: ${size} bytes\n`);
    assert.ok(size > 0 && size < SIZE_LIMIT, `${IMAGE} is ${size} bytes`);
  });
});
