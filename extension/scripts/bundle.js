// One esbuild step: src/extension.ts and everything it imports (dockerode, @tsnet/shared...) into
// dist/extension.js; `vscode` is provided by the host. ssh2's optional native add-ons
// (cpu-features, sshcrypto.node) are left out: ssh2 falls back to pure JS without them.
const esbuild = require('esbuild');
const path = require('path');

const fs = require('fs');

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
// The topology webview's script runs in the webview (a browser page): its own IIFE bundle.
const webviewEntry = path.join(root, 'src/topology/webview/main.ts');
if (fs.existsSync(webviewEntry)) {
  builds.push(esbuild.build({
    entryPoints: [webviewEntry],
    outfile: path.join(root, 'dist/topology-webview.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    sourcemap: true,
    minify: process.argv.includes('--minify'),
    logLevel: 'warning',
  }));
}
Promise.all(builds).catch(() => process.exit(1));
