// The managed plugin's /opt/tsnet, from the built driver (driver/dist, the tsc output the tests
// run) without a node_modules tree: one esbuild bundle holds the driver, its two worker threads,
// the CLI, the plugin's preload and all their dependencies (express, pino, zod, ipaddr.js,
// @tsnet/shared, koffi's JavaScript), each dependency once. Each program is a one-line file that
// runs its part of the bundle (a module of a CommonJS bundle only runs when first required).
//
//   node driver/scripts/bundle-plugin.js OUT    (OUT becomes /opt/tsnet in the rootfs)
//
// OUT/driver/dist/tsnet-bundle.js    the bundle
// OUT/driver/dist/main.js            the driver (the plugin's entry point, plugin-config/config.json)
// OUT/driver/dist/netlink-worker.js  worker threads the driver starts from its own directory
// OUT/driver/dist/nft-worker.js        (path.join(__dirname, NAME), hence the distinct names;
// OUT/driver/dist/kernel-worker.js     test/unit/plugin-bundle.test.ts checks every one is a part)
// OUT/driver/dist/tsnet.js           the CLI (OUT/bin/tsnet runs it on the host)
// OUT/driver/package.json            the version the driver and the CLI report (dist/version.js)
// OUT/driver/proto/*.proto           etcd3's gRPC definitions, which etcd3 reads when it is loaded
//                                      from ${__dirname}/../proto (__dirname: the bundle's directory)
// OUT/plugin-preload.cjs             plugin-config/preload.cjs
// OUT/node_modules/@koromix/koffi-<platform>-<arch>/  koffi's native module for this machine only:
//   koffi's loader requires that package by name (it stays external), and the package's index.js
//   picks <os>_<arch>/koffi.node (glibc) or musl_<arch>/koffi.node; only the glibc one is kept.
'use strict';
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const out = process.argv[2];
const driver = path.resolve(__dirname, '..');
const root = path.resolve(driver, '..');
const dist = path.join(driver, 'dist');

/** The parts of the bundle, each run by the one-line program file named after it. */
const PARTS = {
  'driver/dist/main.js': { name: 'driver', module: './main.js' },
  'driver/dist/netlink-worker.js': { name: 'netlinkWorker', module: './netlink/netlink-worker.js' },
  'driver/dist/nft-worker.js': { name: 'nftWorker', module: './firewall/nft-worker.js' },
  // the multi-host (VXLAN) worker, started only with TSNET_ETCD set
  'driver/dist/kernel-worker.js': { name: 'clusterKernelWorker', module: './cluster/kernel-worker.js' },
  // cli/tsnet.js runs main() only when it is the process's main module, which a bundled module
  // never is: its part calls main() itself.
  'driver/dist/tsnet.js': { name: 'cli', module: './cli/tsnet.js', call: '.main()', shebang: true },
  'plugin-preload.cjs': { name: 'preload', module: path.relative(dist, path.join(root, 'plugin-config/preload.cjs')) },
};
/** Parts with no program file: the image build checks with this one that koffi loads. */
const CHECKS = { koffi: 'koffi' };
const BUNDLE = 'driver/dist/tsnet-bundle.js';

/**
 * Bundles a package that npm installed twice at the same version (body-parser and raw-body each
 * have their own iconv-lite 0.7.3, 0.5 MB) from its first copy only.
 */
const dedupe = {
  name: 'dedupe',
  setup(build) {
    const seen = new Map(); // name@version -> package directory
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'dedupe' || args.path.startsWith('node:')) return undefined;
      const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'dedupe' });
      if (r.errors.length || r.external || !r.path.includes('/node_modules/')) return r;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      const marker = `/node_modules/${name}/`;
      const dir = r.path.slice(0, r.path.lastIndexOf(marker) + marker.length - 1);
      const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const key = `${name}@${version}`;
      if (!seen.has(key)) seen.set(key, dir);
      return { ...r, path: seen.get(key) + r.path.slice(dir.length) };
    });
  },
};

/**
 * Data the driver and the CLI cannot use, left out of the bundle (0.75 MB; the image has about
 * 1 MB to spare below 120 MB). Each such module is replaced by one that throws, naming it, if it
 * is ever used:
 * - iconv-lite's CJK code tables (shiftjis, gbk, big5, euc-kr...): iconv-lite loads one only to
 *   decode a body in that charset, and the one body parser, express.json, refuses every charset
 *   but utf-* (body-parser's json isValidCharset) before decoding.
 * - zod's messages in languages other than English: zod loads one only through
 *   z.config(z.locales.X()), which tsnet never calls (English is zod's default).
 */
const UNUSED = [
  { filter: /\/node_modules\/iconv-lite\/encodings\/tables\/[^/]+\.json$/ },
  { filter: /\/node_modules\/zod\/v4\/locales\/[^/]+\.c?js$/, keep: /\/(en|index)\.c?js$/ },
];
const leaveOut = {
  name: 'leave-out',
  setup(build) {
    for (const { filter, keep } of UNUSED) {
      build.onLoad({ filter }, (args) => {
        if (keep?.test(args.path)) return undefined;
        const what = JSON.stringify(`tsnet: ${path.relative(root, args.path)} is not bundled with the plugin`);
        return {
          contents: `const fail = () => { throw new Error(${what}); };
module.exports = new Proxy(fail, { get: (_t, p) => (p === '__esModule' ? false : fail()), apply: fail, construct: fail });`,
          loader: 'js',
        };
      });
    }
  },
};

async function main() {
  const entry = Object.values(PARTS)
    .map((p) => `exports.${p.name} = () => require(${JSON.stringify(p.module.startsWith('.') ? p.module : `./${p.module}`)})${p.call ?? ''};`)
    .concat(Object.entries(CHECKS).map(([name, module]) => `exports.${name} = () => require(${JSON.stringify(module)});`))
    .join('\n');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: dist, sourcefile: 'tsnet-bundle-entry.js', loader: 'js' },
    outfile: path.join(out, BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@koromix/*'],
    plugins: [dedupe, leaveOut],
    minify: true,
    // Functions and classes keep their names, so stack traces in the log stay readable.
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const [file, p] of Object.entries(PARTS)) {
    const rel = path.relative(path.dirname(path.join(out, file)), path.join(out, BUNDLE));
    const text = `${p.shebang ? '#!/usr/bin/env node\n' : ''}'use strict';\nrequire('./${rel}').${p.name}();\n`;
    fs.writeFileSync(path.join(out, file), text, { mode: p.shebang ? 0o755 : 0o644 });
  }

  const { version } = JSON.parse(fs.readFileSync(path.join(driver, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(out, 'driver/package.json'), `${JSON.stringify({ name: '@tsnet/driver', version, private: true }, null, 2)}\n`);

  const proto = path.join(path.dirname(require.resolve('etcd3/package.json', { paths: [driver] })), 'proto');
  fs.mkdirSync(path.join(out, 'driver/proto'), { recursive: true });
  for (const f of fs.readdirSync(proto).filter((n) => n.endsWith('.proto'))) fs.copyFileSync(path.join(proto, f), path.join(out, 'driver/proto', f));

  const pkg = `koffi-${process.platform}-${process.arch}`;
  const from = path.dirname(require.resolve(`@koromix/${pkg}/package.json`, { paths: [require.resolve('koffi')] }));
  const to = path.join(out, 'node_modules/@koromix', pkg);
  const native = `${process.platform}_${process.arch}/koffi.node`;
  fs.mkdirSync(path.join(to, path.dirname(native)), { recursive: true });
  for (const f of ['package.json', 'index.js', native]) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

module.exports = { PARTS };

if (require.main === module) {
  if (!out) {
    process.stderr.write('usage: node driver/scripts/bundle-plugin.js OUT_DIR\n');
    process.exit(2);
  }
  main().catch((e) => {
    process.stderr.write(`bundle-plugin: ${e.stack ?? e}\n`);
    process.exit(1);
  });
}
