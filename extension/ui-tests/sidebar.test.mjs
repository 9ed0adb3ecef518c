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
 * from PATH. Screenshots go to test-output/screenshots/, the server log to
 * test-output/jupyter-server.log.
 */
import { spawn } from 'node:child_process';
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
  statusRequests: 0,
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

async function expectSummaryMatches(expected) {
  const page = ctx.page;
  const panel = page.locator(PANEL);
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
      viewport: { width: 1280, height: 800 },
      deviceScaleFactor: 2
    });
    ctx.page = await context.newPage();
    ctx.page.on('request', request => {
      if (new URL(request.url()).pathname.endsWith(STATUS_PATH)) {
        ctx.statusRequests++;
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
    await sleep(3_500);
    assert.equal(ctx.statusRequests - start, 0, 'no polling while hidden');

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

  it('follows the dark theme', async () => {
    const page = ctx.page;
    await page.waitForFunction(() => window.jupyterapp !== undefined, null, {
      timeout: 30_000
    });
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('apputils:change-theme', {
        theme: 'JupyterLab Dark'
      })
    );
    await page.waitForFunction(
      () =>
        document.body.dataset.jpThemeName === 'JupyterLab Dark' &&
        document.body.dataset.jpThemeLight === 'false',
      null,
      { timeout: 30_000 }
    );
    // The panel paints with the theme's colours.
    const background = await page
      .locator(`${PANEL} .jp-Lakebook-section`)
      .evaluate(node => getComputedStyle(node).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 3 * 100, `dark background, got ${background}`);
    await expectSummaryMatches(expected);
    await screenshotSidebar('sidebar-dark');
  });

  it('shows API errors inline and keeps the last status', async () => {
    const page = ctx.page;
    await page.route(`**${STATUS_PATH}*`, route =>
      route.fulfill({
        status: 409,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'The catalog is being migrated; try again.', status: 409 })
      })
    );
    try {
      await page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`).click();
      const alert = page.locator(`${PANEL} .jp-Lakebook-error[role="alert"]`);
      await alert.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await alert.textContent(), /The catalog is being migrated; try again\./);
      // The last good numbers are still shown.
      await expectSummaryMatches(expected);
      await screenshotSidebar('sidebar-error');
    } finally {
      await page.unroute(`**${STATUS_PATH}*`);
    }
    await page.locator(`${PANEL} button[aria-label="Refresh Lakebook"]`).click();
    await page.locator(`${PANEL} .jp-Lakebook-error`).waitFor({ state: 'hidden' });
  });

  it('logged no Lakebook errors in the browser', () => {
    assert.deepEqual(ctx.lakebookErrors, []);
  });
});
