/**
 * The extension's layers: the tree, the topology and the Docker client import nothing from
 * commands/ (the command forms' validators live there; what the views share is in docker/).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const src = path.join(__dirname, '../../../src');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(src, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('extension layering', () => {
  it('tree/, topology/, docker/ and graph-store.ts import nothing from commands/', () => {
    const files = [...sources('tree'), ...sources('topology'), ...sources('docker'), 'graph-store.ts'];
    assert.ok(files.length > 5, `found ${files.length} files`);
    const offenders = files.filter((f) => /from '(\.\.?\/)+(commands\/|\.\.\/commands)|from '\.\/commands\//.test(fs.readFileSync(path.join(src, f), 'utf8')));
    assert.deepStrictEqual(offenders, []);
  });

  it('no module of commands/ holds validators of more than one form', () => {
    assert.ok(!fs.existsSync(path.join(src, 'commands/validate.ts')), 'commands/validate.ts is split by concern');
    for (const f of ['network-form.ts', 'container-form.ts', 'form-rules.ts']) assert.ok(fs.existsSync(path.join(src, 'commands', f)), f);
  });
});
