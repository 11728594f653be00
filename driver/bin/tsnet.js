#!/usr/bin/env node
'use strict';
// The `tsnet` command. This file is committed (not built) so that npm links the bin when it
// installs the workspace, before `npm run build` has made dist/; it only loads the built CLI.
const fs = require('node:fs');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'dist', 'cli', 'tsnet.js');
if (!fs.existsSync(cli)) {
  process.stderr.write(`tsnet: the command is not built yet (${cli} is missing): run npm run build in ${path.resolve(__dirname, '..', '..')} (npm start and npm test build it too)\n`);
  process.exit(1);
}
require(cli).main();
