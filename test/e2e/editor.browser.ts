// Run with `npm run test:browser`; CI runs it alone, after the other e2e files (with them it shared two
// cores with other n8n processes and once timed out adding the trigger node).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

import { launchChromium, startLikeNpmStart, type StartedN8n } from './browser-harness';

/**
 * n8n's editor in Debian's Chromium, against `npm start` (scripts/start.js): what a user who
 * installed the package sees. The owner signs up, finds every LTST node in the node creator, builds
 * Store Message -> Retrieve Context, runs it with "Execute workflow", and tests the credential.
 * Screenshots go to test-results/editor/ (git-ignored) for a person to look at.
 */
const SHOTS = path.join(__dirname, '..', '..', 'test-results', 'editor');
const OWNER = { email: 'owner@ltst.example', firstName: 'Ltst', lastName: 'Owner', password: 'Ltst-browser-2026' };
const NODES = ['LTST Store Message', 'LTST Retrieve Context', 'LTST Upsert Preference', 'LTST Log Event', 'LTST Memory Maintenance'];
// The node creator's top-level categories a database node can sensibly live in.
const CATEGORIES = ['AI', 'Action in an app', 'Data transformation', 'Core'];
const STEP_MS = 120_000;

const id = (testId: string) => `[data-test-id="${testId}"]`;
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe("n8n's editor in Chromium, started by npm start", () => {
  const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'ltst-editor-e2e-'));
  let n8n: StartedN8n | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    browser = await launchChromium(); // first: a missing Chromium fails before n8n starts
    n8n = await startLikeNpmStart(userFolder);
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(30_000);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await n8n?.stop();
    fs.rmSync(userFolder, { recursive: true, force: true });
  }, 90_000);

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`) });

  /** A new workflow with a manual trigger, so the creator offers "What happens next?". */
  async function newWorkflowWithTrigger(): Promise<void> {
    await page.goto(`${n8n!.url}/workflow/new`);
    await page.locator(id('canvas-plus-button')).click();
    await page.locator(id('node-creator-search-bar')).fill('Manual');
    await page.locator(id('node-creator-item-name'), { hasText: /^Trigger manually$/ }).click();
    await page.locator(id('canvas-node')).first().waitFor();
    await closeCreator();
  }

  async function openCreator(): Promise<void> {
    await page.locator(id('node-creator-plus-button')).click();
    await page.locator(id('node-creator-search-bar')).waitFor();
  }

  async function closeCreator(): Promise<void> {
    const creator = page.locator(id('node-creator'));
    // Escape first clears a search in some views, then closes the panel.
    for (let i = 0; i < 3 && (await creator.isVisible()); i++) {
      await page.keyboard.press('Escape');
      await creator.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
    }
    await creator.waitFor({ state: 'hidden' });
  }

  /** Names the creator lists for `search`: in the open view only, before "Results in other categories". */
  async function searchCreator(search: string): Promise<string[]> {
    await page.locator(id('node-creator-search-bar')).fill(search);
    // The list re-renders after typing: wait until it shows results for this text (a name with the
    // first word of the search, or the split into other categories).
    await page.waitForFunction((word) => {
      const items = Array.from(document.querySelectorAll('[data-test-id="node-creator"] [data-test-id="node-creator-item-name"], [data-test-id="node-creator"] [data-test-id="node-creator-category-item"]'));
      return items.some((el) => (el.textContent ?? '').toLowerCase().includes(word) || /results in other categories/i.test(el.textContent ?? ''));
    }, search.split(' ')[0].toLowerCase(), { timeout: 15_000 }).catch(() => undefined); // nothing found: the list says so below
    return page.locator(`${id('node-creator')} ${id('node-creator-item-name')}, ${id('node-creator')} ${id('node-creator-category-item')}`).evaluateAll((els) => {
      const names: string[] = [];
      for (const el of els) {
        if (el.getAttribute('data-test-id') === 'node-creator-category-item') {
          if (/results in other categories/i.test(el.textContent ?? '')) break;
        } else names.push((el.textContent ?? '').trim());
      }
      return names;
    });
  }

  const param = (name: string) => page.locator(`${id('ndv')} ${id('parameter-item')}:has(${id(`parameter-input-${name}`)})`);

  /** Types a fixed value (switching an expression default to Fixed first). */
  async function setText(name: string, value: string): Promise<void> {
    const item = param(name);
    if (await item.locator(id('inline-expression-editor-input')).count()) {
      await item.locator(id('input-label')).first().hover(); // the Fixed/Expression switch shows on hover
      await item.locator(id('radio-button-fixed')).click();
    }
    const field = item.locator(id('parameter-input-field'));
    await field.fill(value);
    await field.evaluate((el) => (el as HTMLElement).blur()); // its tip would cover the next field
  }

  async function choose(name: string, option: string): Promise<void> {
    await param(name).locator(id(`parameter-input-${name}`)).click();
    const options = page.locator(`${id('parameter-input-item')}:visible`);
    await options.filter({ has: page.locator('.option-headline', { hasText: exactly(option) }) }).click();
    await options.first().waitFor({ state: 'hidden' });
  }

  /** Adds a community node from the creator (its details page, then "Add to workflow"); the panel opens. */
  async function addNode(search: string, name: string): Promise<void> {
    await openCreator();
    await page.locator(id('node-creator-search-bar')).fill(search);
    await page.locator(`${id('node-creator')} ${id('node-creator-item-name')}`, { hasText: exactly(name) }).click();
    await page.getByRole('button', { name: 'Add to workflow' }).click();
    await page.locator(`${id('ndv')} ${id('node-parameters')}`).waitFor();
  }

  async function outputJson(): Promise<string> {
    const output = page.locator(`${id('ndv')} ${id('output-panel')}`);
    await output.locator(id('radio-button-json')).click();
    // The JSON view renders after the switch: wait for its first key.
    await output.getByText(/"\w+":/).first().waitFor();
    return (await output.innerText()).replace(/\s+/g, ' ');
  }

  it('lets the owner sign up on the setup page', async () => {
    await page.goto(n8n!.url);
    await page.waitForURL(/\/setup/);
    await page.locator(`${id('email')} input`).fill(OWNER.email);
    await page.locator(`${id('firstName')} input`).fill(OWNER.firstName);
    await page.locator(`${id('lastName')} input`).fill(OWNER.lastName);
    await page.locator(`${id('password')} input`).fill(OWNER.password);
    await shot('01-setup');
    await page.locator(id('form-submit-button')).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/setup'), { timeout: 60_000 });
    await page.locator(id('main-sidebar-settings')).waitFor();
  }, STEP_MS);

  it('the node creator finds every LTST node by "LTST" and by its own name', async () => {
    await newWorkflowWithTrigger();
    await openCreator();
    const byLtst = await searchCreator('LTST');
    await shot('02-node-creator-ltst');
    const found: Record<string, boolean> = {};
    for (const name of NODES) found[`"LTST" finds ${name}`] = byLtst.includes(name);
    for (const name of NODES) found[`"${name.replace('LTST ', '')}" finds ${name}`] = (await searchCreator(name.replace('LTST ', ''))).includes(name);
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, true])));
    await closeCreator();
  }, STEP_MS);

  it('lists every LTST node under one of the top-level categories (AI, Action in an app, Data transformation, Core)', async () => {
    await newWorkflowWithTrigger();
    const where: Record<string, string[]> = Object.fromEntries(NODES.map((n) => [n, []]));
    for (const category of CATEGORIES) {
      await openCreator();
      await page.locator(`${id('node-creator')} ${id('node-creator-item-name')}`, { hasText: exactly(category) }).click();
      for (const name of await searchCreator('LTST')) where[name]?.push(category);
      if (category === 'AI') await shot('03-node-creator-ai-category');
      await closeCreator();
    }
    expect(Object.entries(where).filter(([, categories]) => categories.length === 0).map(([name]) => `${name} is in no category`)).toEqual([]);
  }, STEP_MS);

  it('builds Store Message -> Retrieve Context from the creator with the Embedded credential and runs it with Execute workflow', async () => {
    await newWorkflowWithTrigger();

    await addNode('Store Message', 'LTST Store Message');
    await setText('userId', 'browser-user');
    await setText('sessionId', 'browser-session');
    await setText('content', 'I prefer green tea in the morning');
    await choose('embeddings', 'None');
    // npm start's Embedded credential is the only one of its type: n8n selects it.
    expect(await page.locator(`${id('node-credentials-select')} input`).inputValue()).toBe('LTST Memory');
    await shot('04-store-message-panel');
    await page.locator(id('ndv-close-button')).click();

    await addNode('Retrieve Context', 'LTST Retrieve Context');
    await setText('userId', 'browser-user');
    await setText('sessionId', 'browser-session');
    await setText('query', 'tea');
    await choose('output', 'Prompt Text Only');
    await choose('embeddings', 'None');
    expect(await page.locator(`${id('node-credentials-select')} input`).inputValue()).toBe('LTST Memory');
    await shot('05-retrieve-context-panel');
    await page.locator(id('ndv-close-button')).click();

    await page.locator(id('execute-workflow-button')).click();
    // The first run opens the embedded database: give it time.
    for (const name of ['Store Message', 'Retrieve Context']) {
      await page.locator(`${id('canvas-node')}[data-node-name="${name}"] ${id('canvas-node-status-success')}`).waitFor({ timeout: 90_000 });
    }
    await page.locator(id('execute-workflow-button')).filter({ hasText: 'Execute workflow' }).waitFor(); // not spinning any more
    await shot('06-canvas-after-run');

    await page.locator(`${id('canvas-node')}[data-node-name="Store Message"]`).dblclick();
    const stored = await outputJson();
    await shot('07-store-message-output');
    expect(stored).toMatch(/"messageId": \d+/);
    expect(stored).toContain('"content": "I prefer green tea in the morning"');
    expect(stored).toContain('"duplicate": false');
    expect(stored).not.toContain('contentHash'); // internals only with Include Details
    await page.locator(id('ndv-close-button')).click();

    await page.locator(`${id('canvas-node')}[data-node-name="Retrieve Context"]`).dblclick();
    const recalled = await outputJson();
    await shot('08-retrieve-context-output');
    expect(recalled).toMatch(/"prompt": ".*I prefer green tea in the morning/);
    await page.locator(id('ndv-close-button')).click();
  }, 240_000);

  // Independent of the run above: testing creates a new embedded database.
  it('tests the credential (Retry): it passes, and its answer carries the database facts', async () => {
    await page.goto(`${n8n!.url}/home/credentials/ltstMemoryCred01`);
    const dialog = page.locator(id('credential-edit-dialog'));
    const result = dialog.locator('[data-test-id^="credentials-config-container-test-"]');
    await result.getByRole('button', { name: 'Retry', exact: true }).waitFor(); // n8n tested it on opening
    const tested = page.waitForResponse((r) => r.url().endsWith('/rest/credentials/test'), { timeout: 60_000 });
    await result.getByRole('button', { name: 'Retry', exact: true }).click();
    const answer = (await (await tested).json()) as { data?: { status?: string; message?: string } };
    await result.locator('button:enabled', { hasText: /^\s*Retry\s*$/ }).waitFor(); // not testing any more
    await shot('09-credential-test');
    expect((await result.innerText()).replace(/\s+/g, ' ')).toContain('Connection tested successfully');
    // n8n 2.41.1's dialog shows only its own text for a passing test; the facts are in the answer (and in Health).
    expect(answer.data).toMatchObject({ status: 'OK', message: expect.stringMatching(/^PostgreSQL \d+\.\d+ \(embedded, in .*ltst-memory\), pgvector \d+\.\d+\.\d+, schema "public" at version \d+\.$/) });
  }, STEP_MS);
});
