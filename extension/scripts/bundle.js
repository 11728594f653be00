// One esbuild step: src/extension.ts and everything it imports (dockerode, @tsnet/shared...) into
// dist/extension.js, minified; `vscode` is provided by the host.
// dockerode pulls in what the extension never uses: ssh2 (ssh:// endpoints go through the user's
// own `ssh ... docker system dial-stdio`, src/docker/ssh-agent.ts), gRPC and protobuf (BuildKit
// sessions of `docker build`) and tar-fs (build contexts). Those modules are replaced by a stub
// whose every member throws, naming the module, if it is ever used.
const esbuild = require('esbuild');
const path = require('path');

const root = path.resolve(__dirname, '..');
const UNUSED = ['ssh2', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'tar-fs', 'cpu-features'];
const minify = !process.argv.includes('--no-minify');

const unusedStub = {
  name: 'unused-modules',
  setup(build) {
    const filter = new RegExp(`^(${UNUSED.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'unused' }));
    build.onLoad({ filter: /.*/, namespace: 'unused' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`tsnet: ${args.path} is not bundled with the extension`)}); };
module.exports = new Proxy(fail, { get: (_t, p) => (p === '__esModule' ? false : fail), apply: fail, construct: fail });`,
      loader: 'js',
    }));
  },
};

esbuild
  .build({
    entryPoints: [path.join(root, 'src/extension.ts')],
    outfile: path.join(root, 'dist/extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode', '*.node'],
    plugins: [unusedStub],
    sourcemap: minify ? 'linked' : true,
    minify,
    metafile: process.argv.includes('--meta'),
    logLevel: 'warning',
  })
  .then((r) => {
    if (r.metafile) console.log(esbuild.analyzeMetafileSync(r.metafile, { verbose: false }));
  })
  .catch(() => process.exit(1));
// The topology webview's own bundle is media/topology/dist/webview.js (scripts/bundle-webview.js).
