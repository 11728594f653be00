// The topology webview's script: media/topology/src/main.ts into media/topology/dist/webview.js
// (one local file: the webview loads nothing remote). ELK's layout engine (elkjs/lib/elk-worker.min.js)
// is embedded as text (`import source from 'elk-worker-source'`) and started as a Web Worker from a
// blob: URL, so a layout never runs on the page's main thread.
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
    plugins: [
      {
        name: 'elk-worker-source',
        setup(build) {
          build.onResolve({ filter: /^elk-worker-source$/ }, () => ({ path: require.resolve('elkjs/lib/elk-worker.min.js'), namespace: 'elk-worker-source' }));
          build.onLoad({ filter: /.*/, namespace: 'elk-worker-source' }, (args) => ({ contents: require('fs').readFileSync(args.path, 'utf8'), loader: 'text' }));
        },
      },
    ],
  })
  .catch(() => process.exit(1));
