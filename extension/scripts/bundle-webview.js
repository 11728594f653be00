// The topology webview's script: media/topology/src/main.ts with elkjs's bundled layout engine
// into media/topology/dist/webview.js (one local file: the webview loads nothing remote).
const esbuild = require('esbuild');
const path = require('path');

const root = path.resolve(__dirname, '..');
esbuild
  .build({
    entryPoints: [path.join(root, 'media/topology/src/main.ts')],
    outfile: path.join(root, 'media/topology/dist/webview.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome114',
    sourcemap: process.argv.includes('--sourcemap'),
    minify: !process.argv.includes('--no-minify'),
    logLevel: 'warning',
  })
  .catch(() => process.exit(1));
