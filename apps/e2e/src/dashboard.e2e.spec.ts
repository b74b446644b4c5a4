import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, Stack } from '@keyledger/testing';
import { ApiClient, createOrg, expectError, TestOrg } from './client';

/**
 * The operator dashboard at /dashboard, driven in a real browser (Debian's chromium through
 * playwright-core) against the whole stack; every effect is checked over HTTP as an API client sees it.
 * Screenshots of every screen at phone and desktop widths land in dist/test-artifacts/dashboard.
 */
const CHROMIUM = process.env['KEYLEDGER_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'dist/test-artifacts/dashboard');
const WIDTHS = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } } as const;
type Width = keyof typeof WIDTHS;
/** What the functions run inside the page touch (this file is compiled without DOM types). */
interface PageGlobals {
  document: { querySelector(selector: string): unknown; documentElement: { scrollWidth: number } };
  innerWidth: number;
  navigator: { clipboard: { readText(): Promise<string> } };
}

describe('operator dashboard (browser e2e)', () => {
  let stack: Stack;
  let acme: TestOrg;
  let browser: Browser;
  const contexts: Partial<Record<Width, BrowserContext>> = {};
  const pages: Partial<Record<Width, Page>> = {};
  const consoleErrors: string[] = [];
  let url: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // Frequent checkpoints, so the audit screen has a signed one to show.
    stack = await Stack.start({ label: 'dashboard', env: { KEYLEDGER_AUDIT_CHECKPOINT_EVERY_SECONDS: '1' } });
    url = stack.gatewayUrl();
    acme = await createOrg(stack, 'Acme Robotics');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    for (const width of Object.keys(WIDTHS) as Width[]) {
      const context = await browser.newContext({ viewport: WIDTHS[width], deviceScaleFactor: 1 });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      const page = await context.newPage();
      // CSP violations and script errors show up here; the dashboard must cause none.
      // (An API answer of 4xx is logged as a failed resource load: expected here, not an error of the page.)
      page.on('console', (message) => {
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(`${width}: ${message.text()}`);
      });
      page.on('pageerror', (error) => consoleErrors.push(`${width}: ${error.message}`));
      contexts[width] = context;
      pages[width] = page;
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const desktop = () => pages.desktop as Page;
  const desktopContext = () => contexts.desktop as BrowserContext;
  const phone = () => pages.phone as Page;

  async function settle(page: Page): Promise<void> {
    await page.waitForLoadState('networkidle');
    // A function, not a string: the page's CSP forbids eval. (This file has no DOM types.)
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('[aria-busy="true"]'));
  }

  /** Screenshots of the current screen at both widths; on phones nothing may scroll sideways. */
  async function screenshot(name: string, path: string): Promise<void> {
    await settle(desktop());
    await desktop().screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`), fullPage: true });
    await phone().goto(`${url}${path}`);
    await settle(phone());
    await phone().screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
    const overflow = await phone().evaluate(() => {
      const { document, innerWidth } = globalThis as unknown as PageGlobals;
      return document.documentElement.scrollWidth - innerWidth;
    });
    expect({ screen: name, overflow }).toEqual({ screen: name, overflow: 0 });
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.getByLabel('Organization API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('is served by the gateway with a strict CSP and the right content types', async () => {
    const page = await fetch(`${url}/dashboard/keys`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/dashboard\/assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect({ script, style }).toEqual({ script: expect.any(String), style: expect.any(String) });
    const js = await fetch(`${url}${script}`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${url}${style}`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const missing = await fetch(`${url}/dashboard/assets/nothing.js`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${url}/dashboard/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('signs in with an org key, and says in words why a bad key is refused', async () => {
    await desktop().goto(`${url}/dashboard`);
    await phone().goto(`${url}/dashboard`);
    await screenshot('sign-in', '/dashboard');

    await signIn(desktop(), `${acme.key.slice(0, -4)}AAAA`);
    await expect(desktop().getByRole('alert').textContent()).resolves.toContain('This key is not valid');

    await signIn(desktop(), acme.key);
    await signIn(phone(), acme.key);
    await desktop().getByTestId('org').waitFor();
    expect(await desktop().getByTestId('org').textContent()).toContain('Acme Robotics');
    // Only session storage holds the key: a new tab is signed out.
    const other = await desktopContext().newPage();
    await other.goto(`${url}/dashboard`);
    await other.getByLabel('Organization API key').waitFor();
    await other.close();
  });

  it('creates a key and shows it exactly once; revoking it makes the API refuse it', async () => {
    const page = desktop();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name', { exact: true }).fill('ci-deployer');
    await page.getByRole('checkbox', { name: 'keys:read' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByTestId('secret-value');
    await shown.waitFor();
    const plaintext = await shown.inputValue();
    expect(plaintext).toMatch(/^kl_test_[0-9A-Za-z]{46}$/);
    expect(await page.getByRole('alert').first().textContent()).toContain('shown only this once');
    await page.getByRole('button', { name: 'Copy api key' }).click();
    await page.getByRole('button', { name: 'Copy api key' }).getByText('Copied').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText())).toBe(plaintext);
    const client = new ApiClient(url).withKey(plaintext);
    const whoami = await client.get('/v1/whoami');
    expect(whoami.status).toBe(200);
    expect(whoami.body.data.api_key).toMatchObject({ name: 'ci-deployer', scopes: ['keys:read'] });
    await screenshot('key-created', '/dashboard/keys');

    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.reload();
    await settle(page);
    const row = page.locator(`tr[data-key-id="${whoami.body.data.api_key.id}"]`);
    expect(await row.textContent()).toContain(`kl_test_…${plaintext.slice(-4)}`);
    expect(await page.content()).not.toContain(plaintext);
    await screenshot('keys', '/dashboard/keys');

    await row.getByRole('button', { name: 'Revoke key ci-deployer' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByRole('status').filter({ hasText: 'Every gateway now refuses it' }).waitFor();
    await row.getByText('revoked', { exact: true }).waitFor(); // the list reloads after the notice
    expectError(await client.get('/v1/whoami'), 401, 'KEY_REVOKED');
  });

  it('rolls a key with a grace period and links an unclaimed key', async () => {
    const old = (await acme.api.post('/v1/api-keys', { name: 'nightly-job', scopes: ['spend:read'] })).body.data;
    const page = desktop();
    await page.reload();
    await settle(page);
    await page.getByRole('button', { name: 'Roll key nightly-job' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll this key?' });
    await dialog.getByLabel('Grace period').selectOption({ label: '1 hour' });
    const before = Date.now();
    await dialog.getByRole('button', { name: 'Roll key' }).click();
    const shown = page.getByTestId('secret-value');
    await shown.waitFor();
    const rolled = await shown.inputValue();
    expect(rolled).not.toBe(old.key);
    const next = await new ApiClient(url).withKey(rolled).get('/v1/whoami');
    expect(next.body.data.api_key).toMatchObject({ name: 'nightly-job', scopes: ['spend:read'] });
    // The old key works until the grace period is over.
    const previous = await new ApiClient(url).withKey(old.key).get('/v1/whoami');
    expect(previous.status).toBe(200);
    const graceLeft = Date.parse(previous.body.data.api_key.expires_at) - before;
    expect(graceLeft).toBeGreaterThan(59 * 60_000);
    expect(graceLeft).toBeLessThanOrEqual(60 * 60_000 + 5_000);
    await page.getByRole('button', { name: 'I have stored it' }).click();

    // A self-serve key made without any credential, claimed into this organization.
    const unclaimed = await new ApiClient(url).post('/v1/api-keys', {});
    expect(unclaimed.body.data).toMatchObject({ claimed: false });
    await page.getByLabel('Unclaimed key').fill(unclaimed.body.data.key);
    await page.getByRole('button', { name: 'Link key' }).click();
    await page.getByRole('status').filter({ hasText: `Linked kl_test_…${unclaimed.body.data.key.slice(-4)}` }).waitFor();
    const linked = await new ApiClient(url).withKey(unclaimed.body.data.key).get('/v1/whoami');
    expect(linked.body.data).toMatchObject({ org: { id: acme.id }, api_key: { claimed: true } });
  });

  it('pauses an agent for 15 minutes and its spends are declined', async () => {
    expect((await acme.api.post('/v1/wallet/deposits', { amount: 500_00, currency: 'usd' })).status).toBe(201);
    const page = desktop();
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByLabel('Agent name').fill('research-bot');
    await page.getByRole('button', { name: 'Create agent' }).click();
    await page.getByRole('status').filter({ hasText: 'Created agent research-bot' }).waitFor();
    const agents = await acme.api.get('/v1/agents');
    const agent = agents.body.data.items.find((a: { name: string }) => a.name === 'research-bot');

    const card = page.locator(`li[data-agent-id="${agent.id}"]`);
    await card.getByRole('button', { name: 'Set budget of research-bot' }).click();
    await card.getByLabel('Total limit').fill('100.00');
    await card.getByLabel('Per day (UTC)').fill('40');
    await card.getByRole('button', { name: 'Save budget' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the budget of research-bot' }).waitFor();
    const budget = await acme.api.get(`/v1/agents/${agent.id}/budget`);
    expect(budget.body.data.policy).toMatchObject({ currency: 'usd', fixed_limit: 100_00, limits: [{ interval: 'daily', amount: 40_00 }] });

    const spend = await acme.api.post('/v1/spends', { agent_id: agent.id, amount: 25_00, currency: 'usd', merchant: 'OpenAI', description: 'tokens' });
    expect(spend.status).toBe(201);
    await page.getByRole('button', { name: 'Refresh' }).click();
    // What the user waits for: the daily meter showing the spend (the list's busy state may not have
    // started yet when the click returns, so waiting for idle alone could read the list from before).
    await card.getByRole('meter', { name: 'Daily used' }).and(page.locator('[aria-valuenow="62.5"]')).waitFor();
    await settle(page);
    expect(await card.getByTestId('limiting-factor').textContent()).toBe('Daily');
    expect(await card.getByRole('meter', { name: 'Daily used' }).getAttribute('aria-valuenow')).toBe('62.5');
    await screenshot('agents', '/dashboard/agents');

    await card.getByLabel('Pause for').selectOption('15m');
    const before = Date.now();
    await card.getByRole('button', { name: 'Pause research-bot' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused research-bot until' }).waitFor();
    const paused = (await acme.api.get(`/v1/agents/${agent.id}`)).body.data;
    expect(paused.status).toBe('paused');
    const pausedFor = Date.parse(paused.paused_until) - before;
    expect(pausedFor).toBeGreaterThan(14 * 60_000);
    expect(pausedFor).toBeLessThanOrEqual(15 * 60_000 + 5_000);
    await card.getByText(`paused until ${paused.paused_until.replace('T', ' ').slice(0, 16)}`).waitFor();

    expectError(await acme.api.post('/v1/spends', { agent_id: agent.id, amount: 1_00, currency: 'usd' }), 403, 'AGENT_PAUSED');
    await screenshot('agent-paused', '/dashboard/agents');

    await card.getByRole('button', { name: 'Resume research-bot' }).click();
    await page.getByRole('status').filter({ hasText: 'Resumed research-bot' }).waitFor();
    expect((await acme.api.post('/v1/spends', { agent_id: agent.id, amount: 5_00, currency: 'usd' })).status).toBe(201);
  });

  it('approves a device code and the polling agent receives its key', async () => {
    const device = new ApiClient(url);
    const requested = await device.post('/v1/auth/device', { agent_name: 'laptop-agent', scopes: ['spend:write', 'agents:read'] });
    expect(requested.status).toBe(200);
    const { device_code, user_code, verification_uri, verification_uri_complete, interval } = requested.body.data;
    expect(verification_uri).toBe(`${url}/dashboard/device`);
    expectError(await device.post('/v1/auth/device/token', { device_code }), 400, 'AUTHORIZATION_PENDING');
    const lastPoll = Date.now();

    const page = desktop();
    await page.goto(verification_uri_complete);
    await settle(page);
    expect(await page.getByLabel('Code shown by the device').inputValue()).toBe(user_code);
    await screenshot('device', `/dashboard/device?user_code=${encodeURIComponent(user_code)}`);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('status').filter({ hasText: `Approved ${user_code}` }).waitFor();

    // The agent keeps polling at its interval, as RFC 8628 says, until it gets its key.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, interval * 1000 - (Date.now() - lastPoll)) + 250));
    const token = await device.post('/v1/auth/device/token', { device_code });
    expect(token.status).toBe(200);
    expect(token.body.data.agent).toMatchObject({ name: 'laptop-agent', status: 'active' });
    const whoami = await device.withKey(token.body.data.api_key.key).get('/v1/whoami');
    expect(whoami.body.data).toMatchObject({ org: { id: acme.id }, agent: { name: 'laptop-agent' } });
  });

  it('denies a device code: the polling agent is told it was refused; a wrong code is explained', async () => {
    const device = new ApiClient(url);
    const requested = (await device.post('/v1/auth/device', { agent_name: 'stranger' })).body.data;
    const page = desktop();
    await page.goto(`${url}/dashboard/device`);
    await page.getByLabel('Code shown by the device').fill('BCDF-GHJK');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/^Not found\./);

    await page.getByLabel('Code shown by the device').fill(requested.user_code.toLowerCase());
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('status').filter({ hasText: `Denied ${requested.user_code}` }).waitFor();
    expectError(await device.post('/v1/auth/device/token', { device_code: requested.device_code }), 400, 'ACCESS_DENIED');
  });

  it('shows the spend history with filters and a chart of spend per agent', async () => {
    const other = (await acme.api.post('/v1/agents', { name: 'ops-bot' })).body.data;
    await acme.api.put(`/v1/agents/${other.id}/budget`, { currency: 'usd', fixed_limit: 200_00 });
    await acme.api.post('/v1/spends', { agent_id: other.id, amount: 12_34, currency: 'usd', merchant: 'AWS' });

    const page = desktop();
    await page.getByRole('link', { name: 'Spends' }).click();
    await settle(page);
    const chart = page.getByRole('img', { name: /Cumulative spend by agent/ });
    await page.getByRole('img', { name: /ops-bot 12\.34 USD/ }).waitFor();
    expect(await chart.getAttribute('aria-label')).toMatch(/research-bot 30\.00 USD.*ops-bot 12\.34 USD|ops-bot 12\.34 USD.*research-bot 30\.00 USD/);
    const history = page.getByRole('table', { name: 'Spend history' });
    await history.locator('tbody tr').nth(2).waitFor();
    expect(await history.locator('tbody tr').count()).toBe(3);
    await screenshot('spends', '/dashboard/spends');

    await page.getByRole('combobox', { name: /^Agent/ }).selectOption({ label: 'ops-bot' });
    // What the user sees once the filtered list is in: one row (the reload may not have begun when
    // the selection returns, so waiting for idle alone could read the unfiltered list).
    await history.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
    await settle(page);
    expect(await history.locator('tbody tr').count()).toBe(1);
    expect(await history.textContent()).toContain('AWS');
  });

  it('shows the audit log with its verification status and the last signed checkpoint', async () => {
    const page = desktop();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await settle(page);
    // The chainer and the checkpoint signer work in the background: ask again until they have.
    for (let attempt = 0; attempt < 60; attempt++) {
      if ((await page.getByTestId('checkpoint').textContent())?.includes('signed')) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await page.getByRole('button', { name: 'Verify again' }).click();
      await settle(page);
    }
    expect(await page.getByTestId('verify-status').textContent()).toMatch(/^Intact: \d+ events verified/);
    expect(await page.getByTestId('checkpoint').textContent()).toMatch(/position \d+, signed \d{4}-\d\d-\d\d/);
    const events = page.getByRole('table', { name: 'Audit events' });
    expect(await events.textContent()).toContain('AgentPaused');
    await screenshot('audit', '/dashboard/audit');
  });

  it('signs out, saying why, when the signed-in key is revoked elsewhere', async () => {
    const second = (await acme.api.post('/v1/api-keys', { name: 'on-call laptop' })).body.data;
    const page = await desktopContext().newPage();
    await page.goto(`${url}/dashboard/agents`);
    await signIn(page, second.key);
    await page.getByRole('heading', { name: 'Manage agents' }).waitFor();
    // The agents are loading as the screen appears: revoking before they are shown lets one of those
    // calls sign the page out, and there would be no Refresh to click. Revoke once the page is idle,
    // so the refresh is the first call made with the revoked key.
    await settle(page);
    expect((await acme.api.post(`/v1/api-keys/${second.id}/revoke`)).status).toBe(200);
    // Whichever call meets the revoked key first signs the page out: the refresh, or one of the
    // screen's own loads if they were still running (then there is no Refresh left to click).
    await page.getByRole('button', { name: 'Refresh' }).click({ timeout: 5_000 }).catch(() => undefined);
    await page.getByLabel('Organization API key').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('This key has been revoked.');
    await page.close();
  });

  it('raised no script errors or CSP violations in the browser', () => {
    expect(consoleErrors).toEqual([]);
  });
});
