/**
 * Root hooks of the Docker suite: dockerd must answer and the offline test image must exist
 * (a failure, never a skip), and the built driver runs as a host process for the whole suite
 * unless TSNET_EXTERNAL_DRIVER=1 (the managed-plugin run).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { DriverProcess, EXTERNAL_DRIVER, IMAGE, REPO } from '../helpers/docker';

export const driver = new DriverProcess();
// Against a managed plugin the status socket is the plugin's (its /run/tsnet mount).
if (EXTERNAL_DRIVER) Object.assign(driver, { statusSocket: process.env.TSNET_STATUS_SOCKET ?? '/run/tsnet/status.sock' });

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    try {
      execFileSync('docker', ['version'], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      throw new Error('missing prerequisite: dockerd is not answering on /var/run/docker.sock; run: bash scripts/ensure-docker.sh');
    }
    execFileSync('bash', [path.join(REPO, 'scripts', 'make-test-image.sh'), IMAGE], { stdio: 'inherit' });
    if (!EXTERNAL_DRIVER) await driver.start();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    if (!EXTERNAL_DRIVER) {
      await driver.stop();
      if (process.env.TSNET_TEST_DRIVER_LOG) require('node:fs').writeFileSync(process.env.TSNET_TEST_DRIVER_LOG, driver.log);
      driver.removeState();
    }
  },
};
