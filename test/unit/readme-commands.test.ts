/**
 * Every command the README tells a user to type is run by some test, so a README line that stops
 * working fails the suite (docs/namespaces.md is executable itself: test/docker/guide.test.ts).
 * The commands are read from the README's ```sh blocks and its inline `npm ...`, `npx ...`,
 * `node ...` and `bash ...` spans; each must be listed below with the test that runs it, and that
 * test's source must contain what it runs. Cheap ones without a Docker Engine are run right here.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** README command (its first words) → the test file that runs it and the text it runs it with. */
const RUN_BY: Record<string, { file: string; runs: string }> = {
  'npm start': { file: 'test/docker/newcomer.test.ts', runs: "run('npm start')" },
  'npm test': { file: 'test/docker/newcomer.test.ts', runs: 'npm test' },
  'npm stop': { file: 'test/docker/newcomer.test.ts', runs: "run('npm stop')" },
  'docker network create -d tsnet': { file: 'test/docker/newcomer.test.ts', runs: 'docker network create -d ${NAME} --subnet' },
  'docker run -d --name web --network demo -p 8080:80': { file: 'test/docker/newcomer.test.ts', runs: 'docker run -d --name tstn-web --network tstn-demo -p ${port}:80' },
  'npx tsnet status': { file: 'test/docker/status-cli.test.ts', runs: "'npx tsnet status'" },
  'npx tsnet ports': { file: 'test/docker/status-cli.test.ts', runs: "tsnetOk(['ports'])" },
  'npx tsnet inspect': { file: 'test/docker/status-cli.test.ts', runs: "tsnetOk(['inspect'" },
  'node driver/dist/main.js': { file: 'test/helpers/docker.ts', runs: "'driver', 'dist', 'main.js'" },
  'npm run service:install': { file: 'test/kernel/service.test.ts', runs: "'service.sh'" },
  'npm run service:remove': { file: 'test/kernel/service.test.ts', runs: "'service.sh'" },
  'npm run plugin:install': { file: 'scripts/test-plugin.sh', runs: 'bash scripts/plugin.sh install' },
  'npm run plugin:upgrade': { file: 'test/plugin/plugin.test.ts', runs: "['scripts/plugin.sh', 'upgrade']" },
  'npm run plugin:remove': { file: 'scripts/test-plugin.sh', runs: 'bash scripts/plugin.sh remove' },
  'npm run build': { file: 'scripts/test.sh', runs: 'npm run build' },
  'npm run -w extension package': { file: 'test/unit/readme-commands.test.ts', runs: "'npm', ['run', '-w', 'extension', 'package']" },
};

/** README commands no test runs, and why. */
const NOT_RUN: Record<string, string> = {
  'bash scripts/plugin.sh push': 'needs a container registry; none is reachable from the test machines',
  'npm run bench': 'the benchmark (about 8 minutes, figures in bench/results.md), run by hand, not a test',
  'node bench/floor/null-driver.mjs': 'part of the benchmark, run by hand',
};

function readmeCommands(): string[] {
  const cmds = new Set<string>();
  let inSh = false;
  for (const line of README.split('\n')) {
    if (/^```sh\s*$/.test(line)) inSh = true;
    else if (/^```/.test(line)) inSh = false;
    else if (inSh) {
      const c = line.replace(/#.*$/, '').replace(/^sudo /, '').trim();
      if (c) cmds.add(c);
    }
  }
  for (const m of README.matchAll(/`((?:npm|npx|node|bash) [^`]+)`/g)) if (!m[1].includes('...')) cmds.add(m[1].replace(/\s+/g, ' ').trim());
  for (const m of README.matchAll(/^\s*\$ (npx tsnet [a-z]+)/gm)) cmds.add(m[1]);
  return [...cmds];
}

const covering = (cmd: string) => Object.keys({ ...RUN_BY, ...NOT_RUN }).filter((k) => cmd === k || cmd.startsWith(`${k} `)).sort((a, b) => b.length - a.length)[0];

describe('every command in the README is run by a test', function () {
  it('each README command has a test that runs it (or a reason why none can)', function () {
    const cmds = readmeCommands();
    assert.ok(cmds.length >= 15, `only ${cmds.length} commands found in the README`);
    const missing = cmds.filter((c) => !covering(c));
    assert.deepEqual(missing, [], 'README commands no test runs: add a test and list it in RUN_BY');
  });

  it('each listed test exists and runs what the README says', function () {
    for (const [cmd, { file, runs }] of Object.entries(RUN_BY)) {
      const src = fs.readFileSync(path.join(REPO, file), 'utf8');
      assert.ok(src.includes(runs), `${file} does not run ${cmd} (no ${runs})`);
    }
  });

  it('the package.json scripts behind the README\'s npm commands exist', function () {
    const scripts = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const cmd of readmeCommands()) {
      const m = /^npm (?:run )?([a-z:]+)/.exec(cmd);
      if (m && !cmd.includes('-w ')) assert.ok(scripts[m[1]], `package.json has no script "${m[1]}" (README: ${cmd})`);
    }
  });

  it('npm run -w extension package makes the .vsix', function () {
    this.timeout(180_000);
    const vsix = path.join(REPO, 'extension', 'tsnet-networks.vsix');
    fs.rmSync(vsix, { force: true });
    try {
      const r = spawnSync('npm', ['run', '-w', 'extension', 'package'], { cwd: REPO, encoding: 'utf8', timeout: 170_000 });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      const head = fs.readFileSync(vsix).subarray(0, 4);
      assert.deepEqual([...head], [0x50, 0x4b, 0x03, 0x04], 'the .vsix is a zip');
    } finally {
      fs.rmSync(vsix, { force: true });
    }
  });
});
