/**
 * Runs the in-VS Code suite (src/test/electron) through @vscode/test-electron against the real
 * dockerd. VS Code cannot be downloaded on the offline build machines: give an installed one
 * with VSCODE_EXECUTABLE=/path/to/code. Set TSNET_VSCODE_DOWNLOAD=1 to let test-electron download
 * it where the internet is reachable. Anything else is a failure, not a skip.
 */
import * as path from 'path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const extensionDevelopmentPath = path.resolve(__dirname, '../..');
  const extensionTestsPath = path.resolve(__dirname, './electron/index');
  const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE;
  if (!vscodeExecutablePath && process.env.TSNET_VSCODE_DOWNLOAD !== '1') {
    throw new Error('VS Code is not available: set VSCODE_EXECUTABLE to an installed VS Code binary, or TSNET_VSCODE_DOWNLOAD=1 where it can be downloaded');
  }
  const exitCode = await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath,
    extensionTestsPath,
    launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  });
  if (exitCode !== 0) throw new Error(`the suite in VS Code failed (exit ${exitCode})`);
}

main().catch((e) => {
  console.error(`tsnet run-electron: ${(e as Error).message}`);
  process.exit(1);
});
