/**
 * Driving the VS Code workbench served by code-server from headless Chromium (playwright-core):
 * the activity bar, tree rows, the command palette and quick inputs, dialogs and notifications.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the UI tests through scripts/test-ui.sh`);
  return v;
}

/** A link as `ip -j link show dev NAME` has it on the host, or undefined when there is none. */
export function hostLink(name: string): { name: string; master?: string; mac?: string; state?: string } | undefined {
  try {
    const out = execFileSync('ip', ['-j', 'link', 'show', 'dev', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const l = (JSON.parse(out) as { ifname: string; master?: string; address?: string; operstate?: string }[])[0];
    return l && { name: l.ifname, master: l.master, mac: l.address, state: l.operstate };
  } catch {
    return undefined;
  }
}

export class Workbench {
  private constructor(readonly browser: Browser, readonly page: Page, readonly artifacts: string) {}

  static async open(url: string, artifacts: string): Promise<Workbench> {
    fs.mkdirSync(artifacts, { recursive: true });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    page.setDefaultTimeout(30_000);
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.activitybar').waitFor();
    return new Workbench(browser, page, artifacts);
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(this.artifacts, `${name}.png`);
    // Park the mouse over the empty editor area so no hover tooltip covers the views.
    const vp = this.page.viewportSize();
    if (vp) await this.page.mouse.move(vp.width - 200, vp.height / 2);
    await this.page.waitForTimeout(300);
    await this.page.screenshot({ path: file });
    return file;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  /** Opens the tsnet container in the activity bar (a no-op when it is showing). */
  async openTsnetView(): Promise<void> {
    const sidebarTitle = this.page.locator('.part.sidebar .composite.title', { hasText: /tsnet/i });
    if (await sidebarTitle.isVisible().catch(() => false)) return;
    await this.page.locator('.activitybar .action-item a[aria-label^="tsnet"], .activitybar .action-item [aria-label^="tsnet"]').first().click();
    await sidebarTitle.waitFor();
  }

  /** Expands a view section of the side bar by its title when it is collapsed. */
  async expandSection(title: string): Promise<Locator> {
    const header = this.page.locator('.part.sidebar .pane-header', { hasText: title }).first();
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    return this.page.locator('.part.sidebar .pane').filter({ has: this.page.locator('.pane-header', { hasText: title }) }).first();
  }

  /** A tree row (in a given view section) whose text contains every one of `texts`. */
  row(section: Locator, ...texts: (string | RegExp)[]): Locator {
    let loc = section.locator('.monaco-list-row');
    for (const t of texts) loc = loc.filter({ hasText: t });
    return loc.first();
  }

  /**
   * Waits until a row with all `texts` is rendered. Tree rows are virtualised (only those in view
   * exist in the DOM), so the section is scrolled down step by step, and back to the top, until then.
   */
  async waitRow(section: Locator, texts: (string | RegExp)[], timeoutMs = 30_000): Promise<Locator> {
    const row = this.row(section, ...texts);
    const deadline = Date.now() + timeoutMs;
    let wheels = 0;
    for (;;) {
      if ((await row.count()) > 0 && (await row.isVisible())) return row;
      if (Date.now() > deadline) throw new Error(`no row showing ${texts.join(' + ')}; rows in view: ${(await this.rowsText(section)).join(' | ')}`);
      const box = await section.locator('.monaco-list').first().boundingBox().catch(() => null);
      if (box) {
        await this.page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 100));
        if (wheels++ < 12) await this.page.mouse.wheel(0, 200);
        else {
          await this.page.mouse.wheel(0, -100_000);
          wheels = 0;
        }
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** Waits until no row with all `texts` is rendered in the section (after scrolling through it). */
  async waitNoRow(section: Locator, texts: (string | RegExp)[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.waitRow(section, texts, 3_000).then(() => true, () => false);
      if (!found) return;
      if (Date.now() > deadline) throw new Error(`a row showing ${texts.join(' + ')} is still there`);
      await this.page.waitForTimeout(300);
    }
  }

  /** Widens the side bar so descriptions are readable in screenshots. */
  async widenSidebar(toX: number): Promise<void> {
    const sidebar = await this.page.locator('.part.sidebar').boundingBox();
    if (!sidebar) return;
    const x = sidebar.x + sidebar.width + 1;
    const y = sidebar.y + sidebar.height / 2;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(toX, y, { steps: 8 });
    await this.page.mouse.up();
  }

  async rowsText(section: Locator): Promise<string[]> {
    return section.locator('.monaco-list-row').allInnerTexts();
  }

  /** Runs a command by its palette title. */
  async runCommand(title: string): Promise<void> {
    const input = this.quickInput().locator('input.input');
    // A picker still closing (e.g. the colour theme picker a test just used) is inert for a moment:
    // wait until it is gone, and open the palette again if F1 landed in the closing one.
    for (let attempt = 0; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.quickInput().waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
      await this.page.keyboard.press('F1');
      try {
        await input.waitFor({ timeout: 10_000 });
        await input.fill(`>${title}`, { timeout: 10_000 });
        break;
      } catch (e) {
        if (attempt >= 2) throw e;
      }
    }
    await this.quickInput().locator('.monaco-list-row', { hasText: title }).first().waitFor();
    await this.page.keyboard.press('Enter');
  }

  quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** Waits for a quick input whose prompt/title/placeholder mentions `expect`, then types `value` and Enter. */
  async answer(expect: string | RegExp, value: string): Promise<void> {
    await this.waitForQuickInput(expect);
    const input = this.quickInput().locator('input.input');
    await input.fill(value);
    await this.page.waitForTimeout(150);
    await this.page.keyboard.press('Enter');
  }

  /** Types `value` into the quick input showing now (its prompt may be replaced by a validation message) and Enter. */
  async submit(value: string): Promise<void> {
    await this.quickInput().locator('input.input').fill(value);
    await this.page.waitForTimeout(150);
    await this.page.keyboard.press('Enter');
  }

  /** Picks an item of a quick pick by typing a filter and Enter. */
  async pick(expect: string | RegExp, item: string): Promise<void> {
    await this.waitForQuickInput(expect);
    await this.quickInput().locator('input.input').fill(item);
    await this.quickInput().locator('.monaco-list-row', { hasText: item }).first().waitFor();
    await this.page.keyboard.press('Enter');
  }

  async waitForQuickInput(expect: string | RegExp): Promise<void> {
    const qi = this.quickInput();
    await qi.waitFor({ state: 'visible' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const placeholder = (await qi.locator('input.input').getAttribute('placeholder').catch(() => '')) ?? '';
      const text = `${await qi.innerText().catch(() => '')}\n${placeholder}`;
      if (typeof expect === 'string' ? text.includes(expect) : expect.test(text)) return;
      if (Date.now() > deadline) throw new Error(`quick input never showed ${expect}; it shows: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
      await this.page.waitForTimeout(100);
    }
  }

  /** The validation message under the quick input, as shown while typing. */
  async typeAndReadValidation(value: string): Promise<string> {
    const input = this.quickInput().locator('input.input');
    await input.fill(value);
    await this.page.waitForTimeout(300);
    return this.quickInput().locator('.quick-input-message').innerText();
  }

  notification(text: string | RegExp): Locator {
    return this.page.locator('.notification-toast, .notifications-center .notification-list-item').filter({ hasText: text }).first();
  }

  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
    await this.page.keyboard.press('Escape');
  }

  async clickDialogButton(label: string): Promise<void> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    await dialog.locator('.monaco-button', { hasText: label }).first().click();
    await dialog.waitFor({ state: 'detached' });
  }
}
