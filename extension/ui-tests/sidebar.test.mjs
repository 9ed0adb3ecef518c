/**
 * Browser test of the Lakebook sidebar against a real `jupyter lab` with the
 * real server and front-end extensions installed.
 *
 * Run with `npm run test:ui` (Node's built-in test runner). Needs:
 *   - the Python package installed in the environment whose `jupyter` is used
 *     (`pip install -e .` or `pip install .`), with the lab extension built
 *     (`npm run build` / `npm run build:prod`);
 *   - Chromium at /usr/bin/chromium (override with CHROMIUM=/path).
 *
 * `jupyter` is taken from $JUPYTER, else from the repository's .venv, else
 * from PATH. Before JupyterLab starts, `prepare_lakehouse.py` (run with the
 * Python next to that `jupyter`) fills a fresh lakehouse through Lakebook's
 * own Python API: feature groups with rows, a model with two versions and
 * aliases, a deployment with traffic, a finished run, a schedule and two
 * monitors with results. Screenshots go to test-output/screenshots/, the
 * server log to test-output/jupyter-server.log.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUTPUT = join(ROOT, 'test-output');
const SCREENSHOTS = join(OUTPUT, 'screenshots');
const SERVER_LOG = join(OUTPUT, 'jupyter-server.log');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const COUNT_KEYS = [
  'feature_groups',
  'feature_views',
  'models',
  'deployments',
  'schedules',
  'runs',
  'monitors'
];
const PANEL = '#lakebook-sidebar';
const TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="lakebook-sidebar"]';
const STATUS_PATH = '/lakebook/api/status';
/** Seconds between refreshes, set through the extension's settings. */
const REFRESH_INTERVAL = 1;

function jupyterCommand() {
  if (process.env.JUPYTER) {
    return process.env.JUPYTER;
  }
  const venv = join(ROOT, '.venv', 'bin', 'jupyter');
  return existsSync(venv) ? venv : 'jupyter';
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

/**
 * Run `prepare_lakehouse.py` with the Python of the `jupyter` in use and
 * return its JSON summary (the last line of its output).
 */
function prepareLakehouse(jupyter, env) {
  const python = jupyter.includes('/') ? join(dirname(jupyter), 'python') : 'python';
  const script = join(ROOT, 'extension', 'ui-tests', 'prepare_lakehouse.py');
  return new Promise((resolvePrepared, reject) => {
    execFile(
      python,
      [script, ctx.tmp],
      { cwd: ctx.tmp, env: { ...env, LAKEBOOK_SCHEDULER: '0' }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`prepare_lakehouse.py failed: ${error.message}\n${stderr}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        resolvePrepared(JSON.parse(lines[lines.length - 1]));
      }
    );
  });
}

/**
 * The state shared by the tests of this file.
 */
const ctx = {
  tmp: '',
  port: 0,
  token: randomBytes(16).toString('hex'),
  server: null,
  serverExited: null,
  logFd: null,
  browser: null,
  page: null,
  prepared: null,
  statusRequests: 0,
  apiRequests: 0,
  lakebookErrors: []
};

function baseUrl() {
  return `http://127.0.0.1:${ctx.port}`;
}

async function fetchJSON(path) {
  const response = await fetch(`${baseUrl()}${path}`, {
    headers: { Authorization: `token ${ctx.token}` }
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function postJSON(path, body) {
  const response = await fetch(`${baseUrl()}${path}`, {
    method: 'POST',
    headers: { Authorization: `token ${ctx.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function startServer() {
  ctx.tmp = mkdtempSync(join(tmpdir(), 'lakebook-ui-'));
  ctx.port = await freePort();
  const settingsDir = join(ctx.tmp, 'lab-settings');
  // Quiet the news prompt so it does not cover the screenshots, and make the
  // Lakebook panel poll every second so polling can be observed quickly.
  const notification = join(settingsDir, '@jupyterlab', 'apputils-extension');
  mkdirSync(notification, { recursive: true });
  writeFileSync(
    join(notification, 'notification.jupyterlab-settings'),
    JSON.stringify({ fetchNews: 'false', checkForUpdates: false })
  );
  mkdirSync(join(settingsDir, 'lakebook'), { recursive: true });
  writeFileSync(
    join(settingsDir, 'lakebook', 'plugin.jupyterlab-settings'),
    JSON.stringify({ refreshInterval: REFRESH_INTERVAL })
  );

  const jupyter = jupyterCommand();
  const env = {
    ...process.env,
    LAKEBOOK_HOME: join(ctx.tmp, '.lakebook'),
    JUPYTERLAB_SETTINGS_DIR: settingsDir,
    JUPYTERLAB_WORKSPACES_DIR: join(ctx.tmp, 'lab-workspaces'),
    JUPYTER_RUNTIME_DIR: join(ctx.tmp, 'runtime'),
    PYTHONUNBUFFERED: '1'
  };
  if (jupyter.includes('/')) {
    env.PATH = `${dirname(jupyter)}${delimiter}${env.PATH || ''}`;
  }
  ctx.prepared = await prepareLakehouse(jupyter, env);

  mkdirSync(OUTPUT, { recursive: true });
  ctx.logFd = openSync(SERVER_LOG, 'w');
  const server = spawn(
    jupyter,
    [
      'lab',
      '--no-browser',
      `--port=${ctx.port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.ip=127.0.0.1',
      `--IdentityProvider.token=${ctx.token}`,
      '--allow-root',
      `--notebook-dir=${ctx.tmp}`,
      '--LabApp.expose_app_in_browser=True'
    ],
    {
      cwd: ctx.tmp,
      env,
      // Its own process group, so that stopping it stops its children too.
      detached: true,
      stdio: ['ignore', ctx.logFd, ctx.logFd]
    }
  );
  ctx.server = server;
  ctx.serverExited = new Promise(resolveExit => {
    server.on('exit', (code, signal) => resolveExit({ code, signal }));
    server.on('error', error => resolveExit({ code: null, signal: null, error }));
  });
  process.on('exit', killServerNow);

  const deadline = Date.now() + 120_000;
  let exited = null;
  void ctx.serverExited.then(value => (exited = value));
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(
        `jupyter lab exited before it was ready (${JSON.stringify(exited)}); see ${SERVER_LOG}`
      );
    }
    try {
      const { status } = await fetchJSON('/api/status');
      if (status === 200) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(500);
  }
  throw new Error(`jupyter lab did not answer within 120 s; see ${SERVER_LOG}`);
}

function killServerNow() {
  const server = ctx.server;
  if (server && server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function stopServer() {
  const server = ctx.server;
  if (!server) {
    return;
  }
  if (server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const stopped = await Promise.race([ctx.serverExited, sleep(15_000).then(() => null)]);
    if (!stopped) {
      killServerNow();
      await Promise.race([ctx.serverExited, sleep(5_000)]);
    }
  }
  process.off('exit', killServerNow);
  ctx.server = null;
}

async function openLab() {
  const page = ctx.page;
  await page.goto(`${baseUrl()}/lab?token=${ctx.token}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#jp-main-dock-panel', { timeout: 60_000 });
  await page.waitForSelector(TAB, { timeout: 60_000 });
}

async function panelIsVisible() {
  return ctx.page.locator(PANEL).isVisible();
}

async function screenshotSidebar(name) {
  const page = ctx.page;
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let the theme's transitions and fonts settle.
  await page.evaluate(() => document.fonts.ready);
  await sleep(300);
  const box = await page.locator(PANEL).boundingBox();
  assert.ok(box, 'the Lakebook panel has a bounding box');
  const viewport = page.viewportSize();
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    clip: {
      x: 0,
      y: 0,
      width: Math.min(viewport.width, Math.ceil(box.x + box.width + 120)),
      height: viewport.height
    }
  });
  await page.screenshot({ path: join(SCREENSHOTS, `lab-${name.replace('sidebar-', '')}.png`) });
}

async function screenshotMain(name) {
  const page = ctx.page;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate(() => document.fonts.ready);
  await sleep(400);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/**
 * Wait until every section of the panel shows content (or an empty state).
 */
async function waitForSections() {
  await ctx.page.waitForFunction(
    () => {
      const sections = document.querySelectorAll('#lakebook-sidebar .jp-Lakebook-listSection');
      return (
        sections.length >= 6 &&
        Array.from(sections).every(s => {
          const p = s.querySelector(':scope > .jp-Lakebook-placeholder');
          return !p || p.hidden;
        })
      );
    },
    null,
    { timeout: 30_000 }
  );
}

/**
 * The "Lakehouse" overview starts collapsed (each section header shows its
 * count): expand it like a user would, by its accordion title.
 */
async function expandOverview() {
  const title = ctx.page.locator(`${PANEL} .lm-AccordionPanel-title`, { hasText: 'Lakehouse' });
  if ((await title.getAttribute('aria-expanded')) === 'false') {
    await title.click();
  }
  const overview = ctx.page.locator(`${PANEL} #lakebook-section-overview`);
  await overview.waitFor({ state: 'visible' });
  // It gets a fair share of the height once the layout has settled.
  await ctx.page.waitForFunction(
    () => document.querySelector('#lakebook-section-overview')?.getBoundingClientRect().height > 100,
    null,
    { timeout: 5_000 }
  );
}

async function expectSummaryMatches(expected) {
  const page = ctx.page;
  const panel = page.locator(PANEL);
  await expandOverview();
  await panel.locator('.jp-Lakebook-summary:not([hidden])').waitFor({ timeout: 20_000 });
  assert.equal(await panel.locator('.jp-Lakebook-home').textContent(), expected.home);
  assert.equal(
    await panel.locator('.jp-Lakebook-catalogVersion').textContent(),
    String(expected.catalog_version)
  );
  assert.equal(
    await panel.locator('.jp-Lakebook-lakebookVersion').textContent(),
    expected.lakebook_version
  );
  for (const key of COUNT_KEYS) {
    const value = panel.locator(`[data-lakebook-count="${key}"] .jp-Lakebook-countValue`);
    assert.equal(
      (await value.textContent()).replace(/[^0-9]/g, ''),
      String(expected.counts[key]),
      `count of ${key}`
    );
  }
}

describe('Lakebook sidebar in JupyterLab', { timeout: 300_000 }, () => {
  let expected = null;

  before(async () => {
    await startServer();
    ctx.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    });
    const context = await ctx.browser.newContext({
      viewport: { width: 1280, height: 960 },
      deviceScaleFactor: 2
    });
    ctx.page = await context.newPage();
    ctx.page.on('request', request => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith(STATUS_PATH)) {
        ctx.statusRequests++;
      }
      if (path.includes('/lakebook/api/')) {
        ctx.apiRequests++;
      }
    });
    const keep = text => {
      if (/lakebook/i.test(text)) {
        ctx.lakebookErrors.push(text);
      }
    };
    ctx.page.on('pageerror', error => keep(`${error.message}\n${error.stack || ''}`));
    ctx.page.on('console', message => {
      if (message.type() === 'error') {
        keep(message.text());
      }
    });
  });

  after(async () => {
    try {
      if (ctx.browser) {
        await ctx.browser.close();
      }
    } finally {
      await stopServer();
      if (ctx.logFd !== null) {
        closeSync(ctx.logFd);
      }
      if (ctx.tmp) {
        rmSync(ctx.tmp, { recursive: true, force: true });
      }
    }
  });

  it('the server extension answers the status contract', async () => {
    const { status, body } = await fetchJSON(STATUS_PATH);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body.home, 'string');
    assert.ok(body.home.startsWith(ctx.tmp), `${body.home} is below ${ctx.tmp}`);
    assert.equal(typeof body.lakebook_version, 'string');
    assert.ok(Number.isInteger(body.catalog_version));
    for (const key of COUNT_KEYS) {
      assert.ok(Number.isInteger(body.counts[key]), `counts.${key}`);
    }
    expected = body;
  });

  it('opens from its icon in the left bar and shows the status', async () => {
    await openLab();
    const tab = ctx.page.locator(TAB);
    assert.equal(await tab.getAttribute('title'), 'Lakebook');
    await tab.click();
    await ctx.page.locator(PANEL).waitFor({ state: 'visible' });
    assert.equal(
      await ctx.page.locator(`${PANEL} .jp-Lakebook-heading`).textContent(),
      'Lakebook'
    );
    await expectSummaryMatches(expected);
    await waitForSections();
    await screenshotSidebar('sidebar-light');
  });

  it('has an accessible refresh button that refreshes', async () => {
    const button = ctx.page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`);
    assert.equal(await button.count(), 1);
    const before = ctx.statusRequests;
    await button.focus();
    await ctx.page.keyboard.press('Enter');
    await ctx.page.waitForFunction(
      () => document.querySelector('#lakebook-sidebar')?.getAttribute('aria-busy') === 'false'
    );
    assert.ok(ctx.statusRequests > before, 'Enter on the refresh button sent a request');
    // The content stayed in place.
    await expectSummaryMatches(expected);
  });

  it('polls while visible and stops when hidden', async () => {
    let start = ctx.statusRequests;
    await sleep(3_500);
    assert.ok(
      ctx.statusRequests - start >= 2,
      `polled ${ctx.statusRequests - start} times in 3.5 s while visible`
    );

    // Clicking the current tab collapses the sidebar.
    await ctx.page.locator(TAB).click();
    await ctx.page.locator(PANEL).waitFor({ state: 'hidden' });
    await sleep(1_000);
    start = ctx.statusRequests;
    const apiStart = ctx.apiRequests;
    await sleep(3_500);
    assert.equal(ctx.statusRequests - start, 0, 'no polling while hidden');
    assert.equal(ctx.apiRequests - apiStart, 0, 'no section polls while hidden');

    start = ctx.statusRequests;
    await ctx.page.locator(TAB).click();
    await ctx.page.locator(PANEL).waitFor({ state: 'visible' });
    await sleep(500);
    assert.ok(ctx.statusRequests > start, 'refreshed at once when shown again');
  });

  it('is restored after a reload', async () => {
    await ctx.page.reload({ waitUntil: 'domcontentloaded' });
    await ctx.page.waitForSelector('#jp-main-dock-panel', { timeout: 60_000 });
    await ctx.page.locator(PANEL).waitFor({ state: 'visible', timeout: 30_000 });
    assert.ok(await panelIsVisible());
    await expectSummaryMatches(expected);
  });

  it('shows the prepared feature groups and opens one in the main area', async () => {
    const page = ctx.page;
    const section = page.locator(`${PANEL} #lakebook-section-features`);
    const row = section.locator('li[data-name="transactions"]');
    await row.waitFor({ timeout: 20_000 });
    for (const name of Object.keys(ctx.prepared.feature_groups)) {
      await section.locator(`li[data-name="${name}"]`).waitFor();
    }
    assert.match(await row.textContent(), /transactions\s*v1/);
    assert.ok(await row.locator('.jp-Lakebook-badge-online').isVisible(), 'online badge');
    assert.equal(
      await section.locator('li[data-name="cards"] .jp-Lakebook-badge-online').isVisible(),
      false,
      'cards is offline'
    );
    const groups = (await fetchJSON('/lakebook/api/feature-groups')).body.feature_groups;
    const listed = await section.locator('li[data-name]').count();
    assert.equal(listed, groups.length, 'every group of the API is listed');

    // The detail view: schema, statistics with histograms, commits, preview.
    await row.locator('button.jp-Lakebook-itemMain').click();
    const view = page.locator('.jp-Lakebook-featureGroupView');
    await view.locator('.jp-Lakebook-schemaTable').waitFor({ timeout: 20_000 });
    const schema = await view.locator('.jp-Lakebook-schemaTable tbody tr td:first-child').allTextContents();
    assert.deepEqual(schema, ['cc_num', 'amount', 'category', 'ts']);
    const amount = view.locator('.jp-Lakebook-statsTable tbody tr', { hasText: 'amount' });
    assert.equal(await amount.locator('svg.jp-Lakebook-histogram rect').count(), 10, '10 bins');
    assert.equal(
      await view.locator('.jp-Lakebook-commitsTable tbody tr').count(),
      ctx.prepared.feature_groups.transactions.commits
    );
    assert.equal(await view.locator('.jp-Lakebook-sampleTable tbody tr').count(), 20);
    await screenshotMain('feature-group-light');
  });

  it('shows embedding columns with their index, and finds a key\'s nearest rows', async () => {
    const page = ctx.page;
    const section = page.locator(`${PANEL} #lakebook-section-features`);
    const row = section.locator('li[data-name="merchants"]');
    await row.waitFor({ timeout: 20_000 });
    const badge = row.locator('.jp-Lakebook-badge-vectors');
    assert.ok(await badge.isVisible(), 'vectors badge');
    assert.equal(await badge.getAttribute('title'), 'desc_vec: 8-d cosine');
    assert.equal(
      await section.locator('li[data-name="cards"] .jp-Lakebook-badge-vectors').isVisible(),
      false
    );
    await row.locator('button.jp-Lakebook-itemMain').click();
    const view = page.locator('.jp-Lakebook-featureGroupView', { hasText: 'merchants' });
    const embeddings = view.locator('.jp-Lakebook-embeddingsTable tbody tr');
    await embeddings.first().waitFor({ timeout: 20_000 });
    const cells = await embeddings.first().locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 3), ['desc_vec', '8', 'cosine']);
    assert.match(cells[3], /saved|ready/);
    assert.equal(cells[4], '60');
    const role = view.locator('.jp-Lakebook-schemaTable tbody tr', { hasText: 'desc_vec' });
    assert.match(await role.textContent(), /embedding \(8-d, cosine\)/);
    await view.locator('.jp-Lakebook-neighborsKey').fill('7');
    await view.locator('.jp-Lakebook-neighborsK').fill('4');
    await view.locator('.jp-Lakebook-neighborsForm button[type="submit"]').click();
    const found = view.locator('.jp-Lakebook-neighborsTable tbody tr');
    await found.first().waitFor({ timeout: 20_000 });
    assert.equal(await found.count(), 4);
    const heads = await view.locator('.jp-Lakebook-neighborsTable thead th').allTextContents();
    assert.deepEqual(heads, ['merchant_id', 'category', 'ts', 'distance']);
    const categories = await found.locator('td:nth-child(2)').allTextContents();
    const expected = ctx.prepared.feature_groups.merchants.category_of_7;
    assert.deepEqual(categories, [expected, expected, expected, expected]);
    const ids = await found.locator('td:first-child').allTextContents();
    assert.ok(!ids.includes('7'), 'the key itself is left out');
    await view.locator('.jp-Lakebook-similarity').scrollIntoViewIfNeeded();
    await screenshotMain('feature-group-similarity');
    // a key that is not there: the error is shown, in the user's terms
    await view.locator('.jp-Lakebook-neighborsKey').fill('9999');
    await view.locator('.jp-Lakebook-neighborsForm button[type="submit"]').click();
    await view.locator('.jp-Lakebook-neighborsResults [role="alert"]').waitFor({ timeout: 20_000 });
    assert.match(
      await view.locator('.jp-Lakebook-neighborsResults').textContent(),
      /no vector in 'desc_vec' for key/
    );
    // close the view: later tests look for the one feature-group view they open
    await page.evaluate(() => {
      for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
        if (w.id === 'lakebook-feature-group-merchants') {
          w.close();
        }
      }
    });
  });

  it('shows the deployment with its traffic', async () => {
    const row = ctx.page.locator(`${PANEL} #lakebook-section-deployments li[data-name="fraud_online"]`);
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.locator('.jp-Lakebook-served').textContent(), /fraud @production/);
    assert.equal(await row.locator('.jp-Lakebook-endpoint').textContent(),
      '/lakebook/api/deployments/fraud_online/predict');
    const figures = await row.locator('.jp-Lakebook-figure dd').allTextContents();
    assert.equal(figures[0], String(ctx.prepared.deployments.fraud_online.requests), 'requests');
    assert.match(figures[2], /ms|s$/, 'p50 latency');
  });

  it('shows the headline KPI of a deployment and opens its business view', async () => {
    const page = ctx.page;
    const row = page.locator(`${PANEL} #lakebook-section-deployments li[data-name="fraud_online"]`);
    const headline = row.locator('.jp-Lakebook-kpiHeadline');
    await headline.waitFor({ timeout: 30_000 });
    assert.match(await headline.textContent(), new RegExp(ctx.prepared.deployments.fraud_online.kpi));
    await headline.click();
    const view = page.locator('.jp-Lakebook-businessView');
    await view.locator('.jp-Lakebook-viewTitle').waitFor({ timeout: 20_000 });
    assert.match(await view.locator('.jp-Lakebook-viewTitle').textContent(), /fraud_online/);
    // drawn by JupyterLab's Vega renderer (vega-embed) from the server's Vega-Lite spec
    await view.locator('.jp-Lakebook-vega canvas, .jp-Lakebook-vega svg').first().waitFor({ timeout: 30_000 });
    assert.ok((await view.locator('.jp-Lakebook-arms tr').count()) >= 3, 'both arms compared');
    await screenshotMain('business-light');
  });

  it('shows the models with aliases, moves an alias and compares versions', async () => {
    const page = ctx.page;
    const card = page.locator(`${PANEL} #lakebook-section-models li[data-name="fraud"]`);
    await card.waitFor({ timeout: 20_000 });
    const aliases = () => card.locator('.jp-Lakebook-aliases .jp-Lakebook-badge').allTextContents();
    assert.deepEqual(await aliases(), ['champion → v2', 'production → v1']);
    assert.match(await card.textContent(), /roc_auc 0\.95/);

    // Keyboard: the card's summary is a button.
    await card.locator('.jp-Lakebook-expander').focus();
    await page.keyboard.press('Enter');
    assert.equal(await card.locator('.jp-Lakebook-expander').getAttribute('aria-expanded'), 'true');
    await card.locator('.jp-Lakebook-versions tbody tr').first().waitFor({ timeout: 10_000 });
    assert.equal(await card.locator('.jp-Lakebook-versions tbody tr').count(), 2);
    await card.locator('.jp-Lakebook-aliasInput').fill('production');
    await card.locator('.jp-Lakebook-versionSelect').selectOption('2');
    await card.locator('.jp-Lakebook-aliasForm button[type="submit"]').click();
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll(
        '#lakebook-section-models li[data-name="fraud"] .jp-Lakebook-aliases .jp-Lakebook-badge'
      )).some(n => n.textContent === 'production → v2'),
      null,
      { timeout: 10_000 }
    );
    const detail = (await fetchJSON('/lakebook/api/models/fraud')).body;
    assert.equal(detail.aliases.production, 2, 'the alias moved in the registry');

    await card.locator('button', { hasText: 'Compare versions' }).click();
    const compare = page.locator('.jp-Lakebook-compareView');
    await compare.locator('.jp-Lakebook-compareTable').waitFor({ timeout: 10_000 });
    const best = compare.locator('tr[data-metric="roc_auc"] td.jp-mod-best');
    assert.equal(await best.count(), 1);
    assert.match(await best.textContent(), /0\.95/);
    await screenshotMain('compare-light');
  });

  it('opens the lineage tab of a feature group, laid out in layers, and a node opens its view', async () => {
    const page = ctx.page;
    const row = page.locator(`${PANEL} #lakebook-section-features li[data-name="clicks"]`);
    await row.waitFor({ timeout: 20_000 });
    await row.getByRole('button', { name: 'Open the lineage of clicks' }).click();
    const view = page.locator('.jp-Lakebook-lineageView');
    await view.locator('svg .jp-Lakebook-lineageNode').first().waitFor({ timeout: 30_000 });
    const ids = await view.locator('.jp-Lakebook-lineageNode').evaluateAll(
      nodes => nodes.map(n => n.getAttribute('data-id')));
    assert.ok(ids.includes('feature_group:clicks@1'), `the group is drawn: ${ids}`);
    assert.ok(ids.includes('step:fti.ipynb::feature:clicks'), 'the step that wrote it');
    assert.ok(ids.some(id => id.startsWith('run:')), 'the run that wrote it');
    // grouped by notebook: the step and its runs sit in the notebook's box
    assert.equal(await view.locator('.jp-Lakebook-lineageGroupLabel', { hasText: 'fti.ipynb' }).count(), 1);
    // layered left to right: the step is left of the run, the run left of the group
    const x = async id => Number(await view.locator(`.jp-Lakebook-lineageNode[data-id="${id}"] rect`).getAttribute('x'));
    const runId = ids.find(id => id.startsWith('run:'));
    assert.ok(await x('step:fti.ipynb::feature:clicks') < await x(runId), 'step before run');
    assert.ok(await x(runId) < await x('feature_group:clicks@1'), 'run before group');
    await screenshotMain('lineage-group-light');
    await view.locator('.jp-Lakebook-lineageNode[data-id="feature_group:clicks@1"]').click();
    await page.locator('#lakebook-feature-group-clicks .jp-Lakebook-schemaTable').waitFor({ timeout: 20_000 });

    // the whole lakehouse, from the command palette's command
    await page.evaluate(async () => { await window.jupyterapp.commands.execute('lakebook:open-lineage');});
    const all = page.locator('.jp-Lakebook-lineageView').last();
    await all.locator('svg .jp-Lakebook-lineageNode').first().waitFor({ timeout: 30_000 });
    const graph = (await fetchJSON('/lakebook/api/lineage')).body;
    assert.ok(graph.nodes.length >= 8, `the lakehouse graph has ${graph.nodes.length} nodes`);
    assert.ok(await all.locator('.jp-Lakebook-lineageNode').count() >= 6);
    await screenshotMain('lineage-all-light');
    // close what this test opened: later tests look for the one feature-group view
    await page.evaluate(() => {
      for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
        if (w.id.startsWith('lakebook-lineage') || w.id === 'lakebook-feature-group-clicks') {
          w.close();
        }
      }
    });
  });

  it('opens the lineage of a deployment and of a monitor from their rows', async () => {
    const page = ctx.page;
    const closeLineage = () => page.evaluate(() => {
      for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
        if (w.id.startsWith('lakebook-lineage')) {
          w.close();
        }
      }
    });
    const drawn = async view => {
      await view.locator('svg .jp-Lakebook-lineageNode').first().waitFor({ timeout: 30_000 });
      return view.locator('.jp-Lakebook-lineageNode').evaluateAll(
        nodes => nodes.map(n => n.getAttribute('data-id')));
    };
    const dep = page.locator(`${PANEL} #lakebook-section-deployments li[data-name="fraud_online"]`);
    await dep.waitFor({ timeout: 20_000 });
    await dep.getByRole('button', { name: 'Open the lineage of fraud_online' }).click();
    const depView = page.locator('.jp-Lakebook-lineageView').last();
    const depIds = await drawn(depView);
    assert.ok(depIds.includes('deployment:fraud_online'), `the deployment is drawn: ${depIds}`);
    assert.ok(depIds.some(id => id.startsWith('model_version:fraud@')), 'the model version it serves');
    assert.ok(depIds.includes('outcome:fraud_online'), `its logged outcomes are drawn: ${depIds}`);
    const served = (await fetchJSON('/lakebook/api/lineage?kind=deployment&name=fraud_online')).body;
    assert.ok(served.edges.some(e => e.source === 'deployment:fraud_online' && e.target === 'outcome:fraud_online'),
      'the outcomes are linked to the deployment');
    assert.ok(served.edges.some(e => e.source.startsWith('model_version:fraud@') && e.target === 'outcome:fraud_online'),
      'and to the model version that answered');
    await depView.locator('.jp-Lakebook-lineageNode[data-id="outcome:fraud_online"]').scrollIntoViewIfNeeded();
    await screenshotMain('lineage-deployment-light');
    await closeLineage();
    if (!ctx.prepared.areas.includes('monitoring')) {
      return;
    }
    const mon = page.locator(`${PANEL} #lakebook-section-monitoring li[data-name="transactions_drift"]`);
    await mon.waitFor({ timeout: 20_000 });
    await mon.getByRole('button', { name: 'Open the lineage of transactions_drift' }).click();
    const monView = page.locator('.jp-Lakebook-lineageView').last();
    const monIds = await drawn(monView);
    assert.ok(monIds.includes('monitor:transactions_drift'), `the monitor is drawn: ${monIds}`);
    assert.ok(monIds.some(id => id.startsWith('feature_group:transactions@')), 'the group it watches');
    await screenshotMain('lineage-monitor-light');
    await closeLineage();
  });

  it('keeps a lineage of 500 nodes readable: old versions and runs collapse, notebooks box their steps', async () => {
    const page = ctx.page;
    // a season of a team lakehouse (prepare_lakehouse.py: wide_lineage.py, checked against
    // the REST contract's LineageGraph), served for this one lineage request
    const wide = ctx.prepared.wide_lineage;
    assert.equal(wide.nodes.length, 500);
    const isWide = url => url.pathname.endsWith('/lakebook/api/lineage') &&
      url.searchParams.get('name') === 'wide_events';
    await page.route(isWide, route => route.fulfill({
      status: 200, contentType: 'application/json', body: JSON.stringify(wide)
    }));
    // no two node boxes overlap, and every node lies inside the drawing
    const layoutProblems = view => view.locator('svg').first().evaluate(root => {
      const boxes = Array.from(root.querySelectorAll('.jp-Lakebook-lineageNode rect')).map(r => ({
        id: r.parentElement.getAttribute('data-id'),
        x: Number(r.getAttribute('x')), y: Number(r.getAttribute('y')),
        w: Number(r.getAttribute('width')), h: Number(r.getAttribute('height'))
      }));
      const [, , width, height] = root.getAttribute('viewBox').split(' ').map(Number);
      const problems = [];
      for (let i = 0; i < boxes.length; i++) {
        const a = boxes[i];
        if (a.x < -10 || a.y < -10 || a.x + a.w > width || a.y + a.h > height) {
          problems.push(`${a.id} outside the drawing`);
        }
        for (let j = i + 1; j < boxes.length; j++) {
          const b = boxes[j];
          if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
            problems.push(`${a.id} overlaps ${b.id}`);
          }
        }
      }
      return { count: boxes.length, problems: problems.slice(0, 5) };
    });
    try {
      await page.evaluate(async () => {
        await window.jupyterapp.commands.execute('lakebook:open-lineage',
          { kind: 'feature_group', name: 'wide_events' });
      });
      const view = page.locator('.jp-Lakebook-lineageView').last();
      await view.locator('svg .jp-Lakebook-lineageNode').first().waitFor({ timeout: 30_000 });
      const summary = await view.locator('.jp-Lakebook-lineageControls .jp-Lakebook-itemMeta').textContent();
      const shown = Number(/500 nodes \((\d+) shown\)/.exec(summary)?.[1]);
      // 500 drawn nodes are a wall; collapsed, a fifth of them at most (two kept per kind and name)
      assert.ok(shown > 0 && shown <= 100, `collapsed to a readable size: ${summary}`);
      const collapsed = await layoutProblems(view);
      assert.equal(collapsed.count, shown);
      assert.deepEqual(collapsed.problems, []);
      // each notebook is one box holding its steps and their runs
      const labels = await view.locator('.jp-Lakebook-lineageGroupLabel').allTextContents();
      assert.deepEqual(labels.sort(), ['aggregate.ipynb', 'ingest.ipynb', 'train.ipynb']);
      // old versions are one node each, and say how many they stand for
      const old = view.locator('.jp-Lakebook-lineageNode[data-id="collapsed:model_version:wide_model"]');
      assert.match(await old.getAttribute('aria-label'), /older versions/);
      // the stale model versions stay visible
      assert.ok(await view.locator('.jp-Lakebook-lineageNode.jp-mod-stale').count() >= 1);
      await screenshotMain('lineage-500-collapsed-light');

      // everything drawn: laid out without overlaps, in a drawing that scrolls
      await view.getByLabel('collapse old versions').uncheck();
      await page.waitForFunction(() => {
        const views = document.querySelectorAll('.jp-Lakebook-lineageView');
        return views[views.length - 1]?.querySelectorAll('.jp-Lakebook-lineageNode').length === 500;
      }, null, { timeout: 60_000, polling: 250 });
      const all = await layoutProblems(view);
      assert.equal(all.count, 500);
      assert.deepEqual(all.problems, []);
      await screenshotMain('lineage-500-expanded-light');
    } finally {
      await page.unroute(isWide);
      await page.evaluate(() => {
        for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
          if (w.id.startsWith('lakebook-lineage')) {
            w.close();
          }
        }
      });
    }
  });

  it('shows each monitor verdict in colour and opens its report', async () => {
    const page = ctx.page;
    if (!ctx.prepared.areas.includes('monitoring')) {
      // The monitoring part is not installed: nothing to check.
      return;
    }
    const section = page.locator(`${PANEL} #lakebook-section-monitoring`);
    const drift = section.locator('li[data-name="transactions_drift"]');
    const stable = section.locator('li[data-name="transactions_stable"]');
    await drift.waitFor({ timeout: 20_000 });
    await stable.waitFor();
    assert.equal(await drift.getAttribute('data-verdict'), ctx.prepared.monitors.transactions_drift.status);
    assert.equal(await stable.getAttribute('data-verdict'), ctx.prepared.monitors.transactions_stable.status);
    const badge = drift.locator('.jp-Lakebook-badge');
    assert.equal(await badge.textContent(), 'drift');
    const [red, green] = await Promise.all([
      badge.evaluate(n => getComputedStyle(n).backgroundColor),
      stable.locator('.jp-Lakebook-badge').evaluate(n => getComputedStyle(n).backgroundColor)
    ]);
    assert.notEqual(red, green, 'drift and no drift have different colours');
    assert.match(await drift.locator('.jp-Lakebook-driftShare').textContent(),
      new RegExp(`${Math.round(ctx.prepared.monitors.transactions_drift.drift_share * 100)}%`));

    await drift.locator('button.jp-Lakebook-itemMain').click();
    const frame = page.frameLocator('.jp-Lakebook-report iframe');
    await frame.locator('text=Dataset Drift').first().waitFor({ timeout: 30_000 });
    const sandbox = await page.locator('.jp-Lakebook-report iframe').getAttribute('sandbox');
    assert.match(sandbox, /allow-scripts/);
    assert.doesNotMatch(sandbox, /allow-same-origin/);
    await screenshotMain('report-light');
  });

  it('acknowledges an alert from the sidebar', async () => {
    const page = ctx.page;
    const open = ctx.prepared.alerts;
    assert.ok(open && open.length > 0, 'the drifting monitor raised an open alert');
    const section = page.locator(`${PANEL} #lakebook-section-monitoring`);
    const alert = section.locator(`.jp-Lakebook-alert[data-alert-id="${open[0]}"]`);
    await alert.waitFor({ timeout: 20_000 });
    await alert.scrollIntoViewIfNeeded();
    await screenshotSidebar('sidebar-alert-open');
    const ack = alert.getByRole('button', { name: /Acknowledge this alert/ });
    await ack.click();
    await alert.waitFor({ state: 'detached', timeout: 20_000 });
    const { status, body } = await fetchJSON('/lakebook/api/alerts');
    assert.equal(status, 200);
    const stored = body.alerts.find(a => a.id === open[0]);
    assert.equal(stored.acknowledged, true, 'the server recorded the acknowledgement');
    await screenshotSidebar('sidebar-alert-acknowledged');
  });

  it('shows the named pipelines and runs one', async () => {
    const page = ctx.page;
    const section = page.locator(`${PANEL} #lakebook-section-pipelines`);
    const row = section.locator('li.jp-Lakebook-pipeline[data-name="daily_clicks"]');
    await row.waitFor({ timeout: 20_000 });
    const steps = await row.locator('.jp-Lakebook-pipelineStep').allTextContents();
    assert.deepEqual(steps, ctx.prepared.pipelines.daily_clicks.steps);
    assert.match(await row.locator('.jp-Lakebook-badge').textContent(), /not run/);
    await row.scrollIntoViewIfNeeded();
    await screenshotSidebar('sidebar-pipelines');
    await row.getByRole('button', { name: 'Run pipeline daily_clicks now' }).click();
    // the run shows in the pipeline's row (its last run) and in the run history
    await page.waitForFunction(
      () => {
        const badge = document.querySelector(
          '#lakebook-section-pipelines li.jp-Lakebook-pipeline[data-name="daily_clicks"] .jp-Lakebook-badge'
        );
        return badge && !/not run/.test(badge.textContent || '');
      },
      null,
      { timeout: 30_000 }
    );
    const { body } = await fetchJSON('/lakebook/api/runs?limit=50');
    assert.ok(body.runs.some(r => r.target.pipeline === 'daily_clicks'), 'a pipeline run was queued');
    await row.scrollIntoViewIfNeeded();
    await screenshotSidebar('sidebar-pipeline-run');
  });

  it('keeps a hostile report sandboxed: nothing is read from /api/contents', async () => {
    // Issue 24: a monitored column holds `</script><script>…`. The payload reports that it
    // ran (/xss-beacon/ran), then tries to read top-secret.txt through /api/contents with
    // the user's cookie and report it (/xss-beacon/leak). A report as Lakebook writes it now
    // never runs it; a raw one (as an earlier Lakebook wrote it) runs only sandboxed, from
    // the sidebar, from a direct visit of its URL and from the notebook view alike.
    const page = ctx.page;
    if (!ctx.prepared.areas.includes('monitoring')) {
      return;
    }
    const hostile = ctx.prepared.hostile;
    const context = page.context();
    const errorsBefore = ctx.lakebookErrors.length;
    const seen = [];
    const onRequest = request => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/xss-beacon/')) {
        seen.push({ beacon: url.pathname.split('/')[2], query: url.search });
      }
    };
    const secretReads = [];
    const onResponse = response => {
      if (new URL(response.url()).pathname.includes('top-secret')) {
        secretReads.push({ status: response.status(), main: response.frame() === page.mainFrame() });
      }
    };
    context.on('request', onRequest);
    context.on('response', onResponse);
    const count = kind => seen.filter(b => b.beacon === kind).length;
    const waitFor = async (kind, atLeast, timeout = 20_000) => {
      const deadline = Date.now() + timeout;
      while (count(kind) < atLeast && Date.now() < deadline) {
        await sleep(100);
      }
      return count(kind) >= atLeast;
    };
    const reportPath = id => `/lakebook/api/monitors/${hostile.monitor}/reports/${id}.html`;
    const noLeak = () => {
      assert.equal(count('leak'), 0, `the payload read something: ${JSON.stringify(seen)}`);
      for (const read of secretReads) {
        assert.notEqual(read.status, 200, 'the secret file was served to the report');
      }
    };
    try {
      // 1. every report is served sandboxed, whoever asks for it
      const raw = await fetch(`${baseUrl()}${reportPath(hostile.legacy)}`, {
        headers: { Authorization: `token ${ctx.token}` }
      });
      assert.equal(raw.status, 200);
      assert.match(raw.headers.get('content-security-policy'), /^sandbox allow-scripts/);
      assert.doesNotMatch(raw.headers.get('content-security-policy'), /allow-same-origin/);
      assert.equal(raw.headers.get('x-content-type-options'), 'nosniff');

      // 2. the sidebar opens the latest (raw) report in its sandboxed frame: the payload runs
      //    there, and reads nothing
      const section = page.locator(`${PANEL} #lakebook-section-monitoring`);
      const row = section.locator(`li[data-name="${hostile.monitor}"]`);
      await row.waitFor({ timeout: 20_000 });
      await row.locator('button.jp-Lakebook-itemMain').click();
      assert.ok(await waitFor('ran', 1), 'the raw report ran its payload (in the sandbox)');
      await waitFor('blocked', 1, 5_000);
      noLeak();

      // 3. the report as Lakebook writes it now does not run the payload at all
      const before = count('ran');
      await page.evaluate(
        ([monitor, url]) =>
          window.jupyterapp.commands.execute('lakebook:open-report', { monitor, url }),
        [hostile.monitor, reportPath(hostile.sealed).slice(1)]
      );
      const sealedFrame = page.frameLocator('.jp-Lakebook-report iframe').last();
      await sealedFrame.locator('text=Dataset Drift').first().waitFor({ timeout: 30_000 });
      await sleep(1500);
      assert.equal(count('ran'), before, 'the escaped report ran no payload');

      // 4. visiting the raw report's URL directly: the CSP header makes it an opaque origin
      const visit = await context.newPage();
      try {
        const ranBefore = count('ran');
        await visit.goto(`${baseUrl()}${reportPath(hostile.legacy)}`);
        assert.ok(await waitFor('ran', ranBefore + 1), 'the visited report ran (sandboxed)');
        await waitFor('blocked', 2, 5_000);
        assert.equal(await visit.evaluate(() => window.origin), 'null');
        noLeak();
      } finally {
        await visit.close();
      }

      // 5. the notebook view (what `%lakebook monitor` shows): no link, a sandboxed frame
      await page.evaluate(html => {
        const box = document.createElement('div');
        box.id = 'lakebook-test-widget';
        // above the shell, as an output area would show it
        box.style.cssText =
          'position:fixed;top:40px;left:320px;width:720px;z-index:5000;background:#fff';
        box.innerHTML = html;
        document.body.appendChild(box);
      }, hostile.widget_html);
      const widget = page.locator('#lakebook-test-widget');
      assert.equal(await widget.locator('a[href]').count(), 0, 'no plain link to the report');
      assert.equal(await widget.locator('iframe').getAttribute('sandbox'), 'allow-scripts');
      const ranBefore = count('ran');
      await widget.locator('summary').click();
      assert.ok(await waitFor('ran', ranBefore + 1), 'the unfolded report ran (sandboxed)');
      await sleep(1500);
      noLeak();
      // its button opens the sidebar's sandboxed report tab (JupyterLab's command linker)
      const legacyPath = `monitors/${hostile.monitor}/reports/${hostile.legacy}.html`;
      const legacyTab = `lakebook-report-${legacyPath.replace(/[^A-Za-z0-9_-]/g, '-')}`;
      await widget.locator('button.lakebook-open-report').click();
      // outside a trusted notebook output JupyterLab asks before running a linked command
      const run = page.locator('.jp-Dialog-footer button', { hasText: /^Run$/ });
      if (await run.waitFor({ timeout: 5_000 }).then(() => true, () => false)) {
        await run.click();
      } else {
        console.log('no trust dialog:', await page.locator('.jp-Dialog').evaluateAll(
          nodes => nodes.map(n => n.outerHTML.slice(0, 2000))));
      }
      await page.waitForFunction(
        id => window.jupyterapp.shell.currentWidget?.id === id,
        legacyTab,
        { timeout: 20_000 }
      );
      assert.ok(secretReads.every(r => !r.main), 'only report frames tried the secret');
    } finally {
      context.off('request', onRequest);
      context.off('response', onResponse);
      await page.evaluate(() => document.getElementById('lakebook-test-widget')?.remove());
      if (await page.locator('.jp-Dialog').count()) {
        await page.keyboard.press('Escape');  // never leave a dialog over the next tests
      }
      // the raw report's own script breaks on the payload (Evidently's data block is cut
      // short): that is the untrusted report's content failing in its sandbox, not the UI's
      const fromReports = /\/lakebook\/api\/monitors\/[^/]+\/reports\/\d+\.html/;
      const added = ctx.lakebookErrors.splice(errorsBefore);
      ctx.lakebookErrors.push(...added.filter(text => !fromReports.test(text)));
    }
  });

  it('lists the steps of the active notebook and runs one now', async () => {
    const page = ctx.page;
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'fti.ipynb' });
    });
    const section = page.locator(`${PANEL} #lakebook-section-notebook`);
    const clicks = section.locator('li[data-step="clicks"]');
    await clicks.waitFor({ timeout: 20_000 });
    await section.locator('li[data-step="fraud"][data-kind="training"]').waitFor();
    assert.equal(await clicks.getAttribute('data-kind'), 'feature');
    assert.match(await clicks.locator('.jp-Lakebook-stepSchedule').textContent(),
      /0 6 \* \* \* \(Europe\/Amsterdam\)/);
    assert.equal(await clicks.locator('.jp-Lakebook-itemLine .jp-Lakebook-badge').last().textContent(),
      'succeeded');
    // the code after the last step (cells:tail), and why a run of the whole notebook runs it
    const tail = section.locator('.jp-Lakebook-notebookTail');
    await tail.waitFor({ timeout: 20_000 });
    assert.equal(await tail.textContent(),
      'Cell 6, after the last step · a run of the whole notebook would run them: ' +
      'it has never run successfully');
    assert.match(await tail.getAttribute('title'), /fti\.ipynb::cells:tail/);
    await tail.scrollIntoViewIfNeeded();
    await screenshotSidebar('sidebar-notebook-tail-light');

    const before = (await fetchJSON('/lakebook/api/runs')).body.runs.map(r => r.id);
    await clicks.locator('button', { hasText: 'Run now' }).click();
    // The new run shows up in "Pipelines and runs" and finishes there.
    let runId = null;
    const deadline = Date.now() + 90_000;
    while (!runId && Date.now() < deadline) {
      const runs = (await fetchJSON('/lakebook/api/runs')).body.runs;
      runId = runs.map(r => r.id).find(id => !before.includes(id)) ?? null;
      if (!runId) {
        await sleep(250);
      }
    }
    assert.ok(runId, 'run now queued a run');
    const runRow = page.locator(`${PANEL} #lakebook-section-pipelines li[data-run-id="${runId}"]`);
    await runRow.waitFor({ timeout: 20_000 });
    await page.waitForFunction(
      id => document.querySelector(`#lakebook-section-pipelines li[data-run-id="${id}"]`)
        ?.getAttribute('data-status') === 'succeeded',
      runId,
      { timeout: 90_000, polling: 250 }
    );
    assert.match(await runRow.locator('.jp-Lakebook-runMeta').textContent(), /s ·|ms ·/);
    await screenshotSidebar('sidebar-run-light');

    // The executed notebook opens read-only: the lakehouse home is the hidden
    // `.lakebook` folder, which the contents API does not serve, so the
    // sidebar shows it from the run's REST record (no kernel).
    await runRow.locator('.jp-Lakebook-itemMain').click();
    const output = page.locator('.jp-Lakebook-runOutput');
    await output.locator('.jp-Lakebook-runCell').first().waitFor({ timeout: 20_000 });
    const sources = await output.locator('.jp-Lakebook-runSource').allTextContents();
    assert.ok(sources.some(src => src.startsWith('%%feature clicks')), 'the step cell is shown');
    assert.ok(await output.locator('.jp-OutputArea-output').count() > 0, 'with its outputs');
    assert.equal(await output.locator('[contenteditable="true"], textarea').count(), 0, 'read-only');
    await screenshotMain('run-output-light');
  });

  it('follows a running run cell by cell and cancels it', async () => {
    const page = ctx.page;
    // A run of the same step that sleeps 30 s in a plain cell before the step.
    const { status, body } = await postJSON('/lakebook/api/runs', {
      notebook: 'fti.ipynb',
      step: 'clicks',
      params: { pause: 30 }
    });
    assert.equal(status, 201, JSON.stringify(body));
    const row = page.locator(`${PANEL} #lakebook-section-pipelines li[data-run-id="${body.id}"]`);
    await row.waitFor({ timeout: 20_000 });
    const progress = row.locator('.jp-Lakebook-progress');
    await page.waitForFunction(
      id => {
        const node = document.querySelector(`#lakebook-section-pipelines li[data-run-id="${id}"]`);
        const bar = node?.querySelector('.jp-Lakebook-progress');
        return (
          node?.getAttribute('data-status') === 'running' &&
          bar && !bar.hidden && /cell \d+\/\d+/.test(bar.getAttribute('aria-label') || '') &&
          Number(bar.getAttribute('aria-valuenow')) > 0
        );
      },
      body.id,
      { timeout: 30_000, polling: 200 }
    );
    assert.ok(Number(await progress.getAttribute('aria-valuenow')) > 0, 'some cells are done');
    assert.match(await row.locator('.jp-Lakebook-runMeta').textContent(), /cell \d+\/\d+/);
    await screenshotSidebar('sidebar-progress-light');

    await row.locator('button', { hasText: 'Cancel' }).click();
    await page.waitForFunction(
      id => document.querySelector(`#lakebook-section-pipelines li[data-run-id="${id}"]`)
        ?.getAttribute('data-status') === 'cancelled',
      body.id,
      { timeout: 30_000, polling: 250 }
    );
    assert.ok(await row.locator('button', { hasText: 'Run again' }).isVisible());
    assert.equal(await progress.isVisible(), false);
  });

  it('unschedules and schedules a step from the notebook section', async () => {
    const page = ctx.page;
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'fti.ipynb' });
    });
    const clicks = page.locator(`${PANEL} #lakebook-section-notebook li[data-step="clicks"]`);
    await clicks.waitFor({ timeout: 20_000 });
    await clicks.locator('button', { hasText: 'Unschedule' }).click();
    await clicks.locator('.jp-Lakebook-stepSchedule', { hasText: 'not scheduled' }).waitFor({ timeout: 10_000 });
    assert.equal((await fetchJSON('/lakebook/api/schedules')).body.schedules.length, 0);

    await clicks.locator('button', { hasText: 'Schedule…' }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor();
    await dialog.getByLabel(/Cron expression/).fill('*/30 * * * *');
    await dialog.getByLabel(/Timezone/).fill('Asia/Tokyo');
    await dialog.locator('button', { hasText: 'Schedule' }).click();
    await clicks.locator('.jp-Lakebook-stepSchedule', { hasText: '*/30 * * * * (Asia/Tokyo)' })
      .waitFor({ timeout: 10_000 });
    const schedules = (await fetchJSON('/lakebook/api/schedules')).body.schedules;
    assert.equal(schedules.length, 1);
    assert.equal(schedules[0].cron, '*/30 * * * *');
    assert.equal(schedules[0].timezone, 'Asia/Tokyo');
    await page.locator(`${PANEL} #lakebook-section-pipelines li.jp-Lakebook-schedule`, { hasText: '*/30 * * * *' })
      .waitFor({ timeout: 10_000 });
  });

  it('turns a cell into a feature step from its context menu', async () => {
    const page = ctx.page;
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'plain.ipynb' });
    });
    const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
    const cell = notebook.locator('.jp-CodeCell').nth(1);
    await cell.waitFor({ timeout: 20_000 });
    await cell.locator('.jp-InputArea-editor').click();
    // The cell toolbar carries the Lakebook button.
    await cell.locator('[data-jp-item-name="lakebook-make-step"]').waitFor({ timeout: 10_000 });
    await cell.locator('.jp-InputArea-editor').click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Make feature step' }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor();
    await dialog.locator('input[name="name"]').fill('pi_values');
    await dialog.locator('input[name="key"]').fill('k');
    await dialog.locator('input[name="eventTime"]').fill('ts');
    await dialog.locator('input[name="online"]').check();
    await dialog.locator('button', { hasText: 'Insert' }).click();
    await dialog.waitFor({ state: 'detached' });

    const sources = await page.evaluate(() => {
      const panel = window.jupyterapp.shell.currentWidget;
      const cells = panel.content.model.cells;
      return Array.from({ length: cells.length }, (_, i) => cells.get(i).sharedModel.getSource());
    });
    assert.equal(sources[0], '%load_ext kernel_magics\nimport math');
    assert.equal(sources[1], '%%feature pi_values --key k --event-time ts --online\nmath.pi');
    await page.waitForFunction(
      () => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell:nth-child(2)')
        ?.getAttribute('data-lakebook-step') === 'feature',
      null,
      { timeout: 5_000 }
    );
    await screenshotMain('cell-actions-light');
  });

  it('follows the dark theme', async () => {
    const page = ctx.page;
    // The earlier tests added a run, a schedule and moved an alias.
    expected = (await fetchJSON(STATUS_PATH)).body;
    await page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`).click();
    await page.waitForFunction(
      () => document.querySelector('#lakebook-sidebar')?.getAttribute('aria-busy') === 'false'
    );
    await page.waitForFunction(() => window.jupyterapp !== undefined, null, {
      timeout: 30_000
    });
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Dark'
      });
    });
    await page.waitForFunction(
      () =>
        document.body.dataset.jpThemeName === 'JupyterLab Dark' &&
        document.body.dataset.jpThemeLight === 'false',
      null,
      { timeout: 30_000 }
    );
    // The panel paints with the theme's colours.
    const background = await page
      .locator(`${PANEL} #lakebook-section-overview`)
      .evaluate(node => getComputedStyle(node).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 3 * 100, `dark background, got ${background}`);
    await expectSummaryMatches(expected);
    await waitForSections();
    await screenshotSidebar('sidebar-dark');
    // The main-area views follow the theme too.
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('lakebook:open-feature-group', { name: 'transactions' });
    });
    await page.locator('.jp-Lakebook-featureGroupView .jp-Lakebook-statsTable').waitFor();
    await screenshotMain('feature-group-dark');
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('lakebook:compare-model', { name: 'fraud' });
    });
    await page.locator('.jp-Lakebook-compareView .jp-Lakebook-compareTable').waitFor();
    await screenshotMain('compare-dark');
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('docmanager:open', { path: 'plain.ipynb' });
    });
    await sleep(500);
    await screenshotMain('cell-actions-dark');
  });

  it('shows API errors inline and keeps the last status', async () => {
    const page = ctx.page;
    const GROUPS_PATH = '/lakebook/api/feature-groups';
    await page.route(`**${STATUS_PATH}*`, route =>
      route.fulfill({
        status: 409,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'The catalog is being migrated; try again.', status: 409 })
      })
    );
    await page.route(`**${GROUPS_PATH}*`, route =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'Lakebook failed to answer this request.', status: 500 })
      })
    );
    const overview = page.locator(`${PANEL} #lakebook-section-overview`);
    const features = page.locator(`${PANEL} #lakebook-section-features`);
    try {
      await page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`).click();
      const alert = overview.locator('.jp-Lakebook-error[role="alert"]');
      await alert.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await alert.textContent(), /The catalog is being migrated; try again\./);
      // The last good numbers are still shown.
      await expectSummaryMatches(expected);
      // A list section shows its own error above its last good list.
      const groupsAlert = features.locator('.jp-Lakebook-error[role="alert"]');
      await groupsAlert.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await groupsAlert.textContent(), /Could not load the feature groups/);
      assert.ok(await features.locator('li[data-name="transactions"]').isVisible());
      // Other sections are not affected.
      assert.equal(
        await page.locator(`${PANEL} #lakebook-section-models .jp-Lakebook-error`).isVisible(),
        false
      );
      await screenshotSidebar('sidebar-error');
    } finally {
      await page.unroute(`**${STATUS_PATH}*`);
      await page.unroute(`**${GROUPS_PATH}*`);
    }
    await page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`).click();
    await overview.locator('.jp-Lakebook-error').waitFor({ state: 'hidden' });
    await features.locator('.jp-Lakebook-error').waitFor({ state: 'hidden' });
  });

  it('logged no Lakebook errors in the browser', () => {
    assert.deepEqual(ctx.lakebookErrors, []);
  });
});
