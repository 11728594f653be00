// One esbuild step: src/extension.ts and everything it imports (dockerode, @tsnet/shared...) into
// dist/extension.js; `vscode` is provided by the host. ssh2's optional native add-ons
// (cpu-features, sshcrypto.node) are left out: ssh2 falls back to pure JS without them.
const esbuild = require('esbuild');
const path = require('path');

const root = path.resolve(__dirname, '..');
const builds = [];
builds.push(esbuild
  .build({
    entryPoints: [path.join(root, 'src/extension.ts')],
    outfile: path.join(root, 'dist/extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode', 'cpu-features', '*.node'],
    sourcemap: true,
    minify: process.argv.includes('--minify'),
    logLevel: 'warning',
  }));
// The topology webview's own bundle is media/topology/dist/webview.js (scripts/bundle-webview.js).
Promise.all(builds).catch(() => process.exit(1));
