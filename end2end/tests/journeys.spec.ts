import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { FLAKY, HEALTHY, Lab } from './lab';

// The four ways people use Hotswap, each with real agents swapping files on disk.
test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'live journeys need the hydrated pages');
test.describe.configure({ timeout: 150_000 });

let lab: Lab | undefined;
test.afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

const badge = (page: Page) => page.locator('.page-head .badge');

test('a deployer runs the wizard for a canary to production; another admin approves; both watch it live', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'wizard');
  await lab.startAgents('production', 3);
  await lab.publish('1.0.0', HEALTHY);
  await lab.call('PATCH', '/api/v1/environments/production', { analysis: { interval: '1s', min_samples: 3 } }, 200);
  const deployer = await lab.member('dora', 'deployer');

  await deployer.goto('/deploy');
  await expect(deployer.locator('[data-hydrated="true"]')).toBeAttached();
  await deployer.getByLabel('Module').selectOption('app');
  await deployer.getByRole('radio', { name: /1\.0\.0/ }).check();
  await deployer.getByRole('radio', { name: /production/ }).check();
  await deployer.getByLabel('Strategy').selectOption('canary');
  // Validation as you type, with the field named.
  await deployer.getByLabel('Phase 2 nodes (%)').fill('3');
  await expect(deployer.getByText('phases must grow: 3% follows 5%')).toBeVisible();
  await expect(deployer.getByRole('button', { name: 'Deploy' })).toBeDisabled();
  // The guide's six phases, cut down to two.
  for (let left = 6; left > 2; left--) await deployer.getByRole('button', { name: 'Remove phase 3' }).click();
  await deployer.getByLabel('Phase 1 nodes (%)').fill('34');
  await deployer.getByLabel('Phase 1 duration').fill('3s');
  await deployer.getByLabel('Phase 1 max error rate (%)').fill('50');
  await deployer.getByLabel('Phase 1 max p95 (ms)').fill('5000');
  await deployer.getByLabel('Phase 2 nodes (%)').fill('100');
  await deployer.getByLabel('Phase 2 duration').fill('2s');
  await deployer.getByLabel('Phase 2 max error rate (%)').fill('50');
  await deployer.getByLabel('Phase 2 max p95 (ms)').fill('5000');
  // The review lists each phase and every node, from nothing to 1.0.0.
  const review = deployer.getByRole('group', { name: '5. Review' });
  await expect(review.getByText('Waits for 1 approval(s) before it starts.')).toBeVisible();
  await expect(review.getByRole('listitem').filter({ hasText: 'canary 34%: 2 node(s)' })).toBeVisible();
  await expect(review.getByRole('row', { name: 'production-0' })).toContainText('1.0.0');
  await deployer.screenshot({ path: 'screenshots/wizard.png', fullPage: true });
  await deployer.getByRole('button', { name: 'Deploy' }).click();
  await expect(deployer).toHaveURL(/\/deployments\/\d+$/);
  const url = new URL(deployer.url()).pathname;
  await expect(badge(deployer)).toHaveText('pending approval');
  await expect(deployer.getByText('live', { exact: true })).toBeVisible();
  await expect(deployer.getByText('Not started: the plan it follows if it starts now.')).toBeVisible();
  await expect(deployer.getByRole('list', { name: 'Phase timeline' }).getByRole('listitem')).toHaveCount(2);

  // The admin decides from the inbox.
  const admin = lab.admin;
  await admin.goto('/approvals');
  await expect(admin.locator('[data-hydrated="true"]')).toBeAttached();
  const card = admin.getByRole('article', { name: /app 1\.0\.0 → production/ });
  await expect(card).toContainText('canary 34% → 100%');
  await expect(card).toContainText(/expires in 23 h/);
  await card.getByLabel('Comment').fill('ship it');
  await card.getByRole('button', { name: 'Approve' }).click();
  // Decided, it leaves the inbox.
  await expect(admin.getByText('No pending approvals')).toBeVisible();

  // Both watch it run to the end without reloading.
  await admin.goto(url);
  for (const page of [deployer, admin]) {
    await expect(badge(page)).toHaveText('succeeded', { timeout: 60_000 });
    await expect(page.getByRole('listitem', { name: /production-0: swapped, runs 1\.0\.0/ })).toBeVisible();
  }
  await expect(deployer.getByText('approved by admin (1 of 1): “ship it”')).toBeVisible();
  await deployer.screenshot({ path: 'screenshots/deployment-live.png', fullPage: true });
  expect(lab.currents()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
});

test('the requester cannot approve their own, and an undecided request expires', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'expiry');
  await lab.startAgents('staging', 1);
  await lab.publish('1.0.0', HEALTHY);
  const first = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'staging', strategy: { kind: 'direct' } }, 202);
  expect(first.status).toBe('pending_approval');

  const admin = lab.admin;
  await admin.goto('/approvals');
  await expect(admin.locator('[data-hydrated="true"]')).toBeAttached();
  const card = admin.getByRole('article', { name: `#${first.id} app 1.0.0 → staging` });
  await expect(card).toContainText('You requested this deployment: another Admin must approve it.');
  await card.getByRole('button', { name: 'Approve' }).click();
  await expect(card.getByRole('alert')).toContainText('does not allow approving your own');
  // A rejection needs a reason, asked for before anything is sent.
  await card.getByRole('button', { name: 'Reject' }).click();
  await admin.getByRole('button', { name: 'Yes, reject' }).click();
  await expect(card.getByText('Say why you reject it')).toBeVisible();
  await lab.call('POST', `/api/v1/deployments/${first.id}/cancel`, {}, 200);

  // A short timeout: the next request expires while the page watches.
  await lab.call('PATCH', '/api/v1/environments/staging', { approval_timeout: '3s' }, 200);
  const second = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'staging', strategy: { kind: 'direct' } }, 202);
  await admin.goto(`/deployments/${second.id}`);
  await expect(badge(admin)).toHaveText('pending approval');
  await expect(badge(admin)).toHaveText('expired', { timeout: 20_000 });
  await expect(admin.getByText('no decision before the approval timeout').first()).toBeVisible();
  expect(lab.currents()).toEqual(['nothing']);
});

test('a viewer watches a deployment live, sees no controls, and the API refuses them', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'viewer');
  await lab.startAgents('dev', 2);
  await lab.publish('1.0.0', HEALTHY);
  await lab.call('PATCH', '/api/v1/environments/dev', { analysis: { interval: '1s', min_samples: 3 } }, 200);
  const viewer = await lab.member('vic', 'viewer');

  const strategy = { kind: 'canary', phases: [
    { percent: 50, duration: '4s', max_error_rate: 0.5, max_p95_ms: 5000 },
    { percent: 100, duration: '2s', max_error_rate: 0.5, max_p95_ms: 5000 },
  ] };
  const { id } = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'dev', strategy }, 202);
  await viewer.goto(`/deployments/${id}`);
  await expect(viewer.locator('[data-hydrated="true"]')).toBeAttached();
  await expect(viewer.getByText('Read-only: your role can watch this deployment but not act on it.')).toBeVisible();
  await expect(badge(viewer)).toHaveText('running');
  await expect(viewer.getByRole('listitem').filter({ hasText: 'canary 50%' }).first()).toBeVisible();
  await expect(badge(viewer)).toHaveText('succeeded', { timeout: 60_000 });
  for (const name of ['Pause', 'Promote', 'Abort', 'Roll back', 'Approve']) {
    await expect(viewer.getByRole('button', { name })).toHaveCount(0);
  }
  const origin = { Origin: baseURL! };
  for (const path of [`/api/v1/deployments/${id}/rollback`, `/api/v1/approvals/deployments/${id}/approve`]) {
    const refused = await viewer.request.post(path, { headers: origin, data: {} });
    expect(refused.status(), path).toBe(403);
  }
  const created = await viewer.request.post('/api/v1/deployments', {
    headers: origin,
    data: { module: 'app', version: '1.0.0', environment: 'dev' },
  });
  expect(created.status()).toBe(403);
  expect(lab.currents()).toEqual(['1.0.0', '1.0.0']);
});

test('when the live connection drops the page says so, then shows what it missed', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'reconnect');
  await lab.startAgents('staging', 1);
  await lab.publish('1.0.0', HEALTHY);
  const { id } = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'staging', strategy: { kind: 'direct' } }, 202);

  const page = lab.admin;
  let cut = false;
  const open: { close: () => Promise<void> }[] = [];
  await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
    if (cut) {
      void ws.close({ code: 1011, reason: 'cut by the test' });
      return;
    }
    ws.connectToServer();
    open.push(ws);
  });
  await page.goto(`/deployments/${id}`);
  const indicator = page.getByRole('status').filter({ hasText: /live|reconnecting|connecting/ });
  await expect(indicator).toHaveText('live');

  cut = true;
  for (const ws of open.splice(0)) await ws.close();
  await expect(indicator).toHaveText('reconnecting…');
  // While the page is cut off, the request is cancelled.
  await lab.call('POST', `/api/v1/deployments/${id}/cancel`, {}, 200);
  await page.waitForTimeout(1000);
  await expect(badge(page)).toHaveText('pending approval');

  cut = false;
  await expect(indicator).toHaveText('live', { timeout: 20_000 });
  await expect(badge(page)).toHaveText('cancelled');
  await expect(page.getByRole('row').filter({ hasText: 'deployment_cancelled' })).toBeVisible();
});

test('a canary that breaches its threshold rolls back by itself, and the page says why', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'breach');
  await lab.startAgents('qa', 3);
  await lab.publish('1.0.0', HEALTHY);
  await lab.publish('2.0.0', FLAKY);
  await lab.call('PATCH', '/api/v1/environments/qa', { analysis: { interval: '1s', min_samples: 3 } }, 200);
  const first = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'qa', strategy: { kind: 'direct' } }, 202);
  await expect(async () => {
    const d = await lab!.call('GET', `/api/v1/deployments/${first.id}`);
    expect(d.status).toBe('succeeded');
  }).toPass({ timeout: 30_000 });

  const strategy = { kind: 'canary', phases: [
    { percent: 34, duration: '8s', max_error_rate: 0.05, max_p95_ms: 5000 },
    { percent: 100, duration: '2s', max_error_rate: 0.05, max_p95_ms: 5000 },
  ] };
  // The dashboard follows it live: active with its progress, then in the history.
  const page = lab.admin;
  await page.goto('/');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  await expect(page.getByText('live', { exact: true })).toBeVisible();
  const matrix = page.getByRole('table', { name: 'Versions by environment and module' });
  await expect(matrix.getByRole('row', { name: /qa/ })).toContainText('1.0.0');
  const { id } = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '2.0.0', environment: 'qa', strategy }, 202);
  await expect(page.getByRole('listitem', { name: `#${id} app 2.0.0 → qa` })).toBeVisible();
  const history = page.getByRole('region', { name: 'Recent history' });
  await expect(history.getByRole('row').filter({ hasText: '2.0.0' })).toContainText('rolled back', { timeout: 60_000 });
  await page.screenshot({ path: 'screenshots/dashboard-live.png', fullPage: true });

  await page.goto(`/deployments/${id}`);
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  await expect(badge(page)).toHaveText('rolled back', { timeout: 60_000 });
  await expect(page.locator('.outcome')).toContainText(/canary 34%.*error rate/);
  const chart = page.getByRole('img', { name: /Error rate: latest .*over the limit in \d+ window/ });
  await expect(chart).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: 'rollback_started' })).toBeVisible();
  await page.screenshot({ path: 'screenshots/canary-rolled-back.png', fullPage: true });
  expect(lab.currents()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
});

test('an admin sets a policy and a freeze in the browser; the wizard names the freeze and breaking the glass is recorded', async ({ browser, baseURL }) => {
  lab = await Lab.open(browser, baseURL!, 'freeze');
  await lab.startAgents('qa', 1);
  await lab.publish('1.0.0', HEALTHY);
  const page = lab.admin;
  await page.goto('/admin');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  await page.locator('#policy-environment').selectOption('qa');
  await page.getByLabel('Requires approval').check();
  await page.getByLabel('Approvals needed').fill('1');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText('Policy saved.')).toBeVisible();
  const policies = page.getByRole('table', { name: 'Environments and policies' });
  await expect(policies.getByRole('row', { name: /^qa/ })).toContainText('1 approval(s) required');

  const now = Date.now();
  await page.locator('#freeze-environment').selectOption('qa');
  await page.locator('#freeze-name').fill('Release freeze');
  await page.locator('#freeze-starts').fill(new Date(now - 60_000).toISOString());
  await page.locator('#freeze-ends').fill(new Date(now + 3_600_000).toISOString());
  await page.getByRole('button', { name: 'Add freeze window' }).click();
  await expect(page.getByRole('row', { name: 'Release freeze' })).toContainText('in force');

  await page.goto('/deploy');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  await page.getByLabel('Module').selectOption('app');
  await page.getByRole('radio', { name: /1\.0\.0/ }).check();
  await page.getByRole('radio', { name: /^qa/ }).check();
  await page.getByLabel('Strategy').selectOption('direct');
  await expect(page.getByRole('group', { name: 'Freeze window' })).toContainText('qa is frozen: “Release freeze”');
  await page.getByRole('button', { name: 'Deploy' }).click();
  await expect(page.getByText(/Not deployed: qa is frozen/)).toBeVisible();
  await page.getByLabel('Break-glass reason').fill('the outage fix cannot wait');
  await page.getByRole('button', { name: 'Deploy' }).click();
  await expect(page).toHaveURL(/\/deployments\/\d+$/);
  await expect(badge(page)).toHaveText('pending approval');
  await expect(page.getByRole('row').filter({ hasText: 'freeze_overridden' })).toContainText('the outage fix cannot wait');
});

test('an admin adds a webhook in the browser; a receiver gets signed events and the log shows them', async ({ browser, baseURL }) => {
  const received: { event: string; signature: string; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ event: String(req.headers['x-hotswap-event']), signature: String(req.headers['x-hotswap-signature']), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    lab = await Lab.open(browser, baseURL!, 'webhook');
    await lab.startAgents('dev', 1);
    await lab.publish('1.0.0', HEALTHY);
    const page = lab.admin;
    await page.goto('/admin');
    await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
    const panel = page.getByRole('region', { name: 'Webhooks' });
    await panel.getByLabel('URL').fill(url);
    await panel.getByLabel('pending').uncheck();
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await panel.getByRole('status').locator('code.secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^whsec_/);
    await expect(panel.getByRole('row', { name: url })).toContainText('approved, rejected, expired, succeeded, failed, rolled_back');

    const { id } = await lab.call('POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'dev' }, 202);
    await expect.poll(() => received.map((r) => r.event), { timeout: 30_000 }).toContain('succeeded');
    const delivery = received.find((r) => r.event === 'succeeded')!;
    expect(delivery.signature).toBe(`sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`);
    expect(JSON.parse(delivery.body).deployment.id).toBe(id);

    await panel.getByRole('button', { name: 'Deliveries' }).click();
    await expect(panel.getByRole('table', { name: 'Deliveries, newest first' }).getByRole('row').filter({ hasText: 'succeeded' })).toContainText('delivered');
  } finally {
    receiver.close();
  }
});
