import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { adminPassword, signIn } from './auth';
import { HEALTHY, Lab } from './lab';

// Every page must read at phone width and pass an accessibility audit, and
// the wizard's cards must read well at every width. One lab holds what the
// pages show: agents, two versions, a finished deployment, a canary in its
// first phase and a request waiting for approval.
test.describe.configure({ mode: 'serial' });

let lab: Lab;
let finished: number;
let running: number;

test.beforeAll(async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  lab = await Lab.open(browser, baseURL!, 'layout');
  await lab.startAgents('dev', 4);
  await lab.startAgents('staging', 1);
  await lab.publish('1.0.0', HEALTHY);
  await lab.publish('1.1.0', HEALTHY);
  // Deployment requests are limited per member: this lab's own deployer asks.
  const deployer = await lab.member('deployer', 'deployer');
  finished = (await lab.callAs(deployer, 'POST', '/api/v1/deployments', {
    module: 'app', version: '1.0.0', environment: 'dev', strategy: { kind: 'direct' },
  }, 202)).id;
  await expect(async () => {
    expect((await lab.call('GET', `/api/v1/deployments/${finished}`)).status).toBe('succeeded');
  }).toPass({ timeout: 30_000 });
  // A canary that stays in its first phase while the pages are looked at.
  running = (await lab.callAs(deployer, 'POST', '/api/v1/deployments', {
    module: 'app', version: '1.1.0', environment: 'dev',
    strategy: { kind: 'canary', phases: [{ percent: 25, duration: '10m' }, { percent: 100, duration: '10m' }] },
  }, 202)).id;
  await expect(async () => {
    const d = await lab.call('GET', `/api/v1/deployments/${running}`);
    expect(d.status).toBe('running');
    expect(d.nodes.filter((n: any) => n.state === 'swapped')).toHaveLength(1);
  }).toPass({ timeout: 30_000 });
  await lab.callAs(deployer, 'POST', '/api/v1/deployments', { module: 'app', version: '1.0.0', environment: 'staging', strategy: { kind: 'direct' } }, 202);
});

test.afterAll(async () => {
  await lab?.call('POST', `/api/v1/deployments/${running}/abort`);
  await lab?.close();
});

/** Signs in as the platform admin and works in the lab's tenant. */
async function enterLab(page: Page) {
  await signIn(page, 'admin', adminPassword);
  const switched = await page.request.post('/api/v1/auth/tenant', {
    data: { tenant: lab.slug },
    headers: { Origin: new URL(page.url()).origin },
  });
  expect(switched.status()).toBe(200);
}

const pages = () => [
  { name: 'dashboard', path: '/' },
  { name: 'history', path: '/deployments' },
  { name: 'running deployment', path: `/deployments/${running}` },
  { name: 'finished deployment', path: `/deployments/${finished}` },
  { name: 'approvals', path: '/approvals' },
  { name: 'deploy', path: '/deploy' },
  { name: 'admin', path: '/admin' },
  { name: 'account', path: '/account' },
];

/** How many CSS pixels the page is wider than its window (0 when it fits). */
async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function settle(page: Page, path: string, javaScriptEnabled: boolean | undefined) {
  await page.goto(path);
  if (javaScriptEnabled !== false) await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
}

test('no page is wider than a phone (390 px) or a tablet (768 px), and the navigation stays usable', async ({ page, javaScriptEnabled }) => {
  test.setTimeout(90_000);
  await enterLab(page);
  for (const width of [768, 390]) {
    await page.setViewportSize({ width, height: 844 });
    for (const { name, path } of pages()) {
      await settle(page, path, javaScriptEnabled);
      expect(await sidewaysOverflow(page), `${name} (${path}) overflows sideways at ${width} px`).toBeLessThanOrEqual(0);
    }
  }
  // At phone width:
  // Every navigation link can be reached and followed at that width.
  await page.goto('/');
  const approvals = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ });
  await approvals.scrollIntoViewIfNeeded();
  await approvals.click();
  await expect(page.getByRole('heading', { level: 1, name: /Approvals/ })).toBeVisible();
  await expect(page.getByRole('article', { name: /app 1\.0\.0 → staging/ })).toBeVisible();

  await page.context().clearCookies();
  await page.goto('/login');
  expect(await sidewaysOverflow(page), 'the login page overflows sideways at 390 px').toBeLessThanOrEqual(0);
});

test('the wizard reads at every width: small radio buttons, card text not squeezed into a sliver', async ({ page, javaScriptEnabled }) => {
  test.skip(javaScriptEnabled === false, 'the wizard steps after the first need JavaScript');
  test.setTimeout(90_000);
  await enterLab(page);
  for (const width of [360, 390, 768, 1024, 1400, 1600]) {
    await page.setViewportSize({ width, height: 900 });
    await settle(page, '/deploy', javaScriptEnabled);
    await page.getByLabel('Module').selectOption('app');
    await page.getByRole('radiogroup', { name: 'Version' }).getByRole('radio', { name: /1\.0\.0/ }).check();
    const environments = page.getByRole('radiogroup', { name: 'Environment' });
    await expect(environments.getByRole('radio')).toHaveCount(4);
    const cards = await environments.locator('.choice').evaluateAll((labels) =>
      labels.map((label) => {
        const radio = label.querySelector('input')!.getBoundingClientRect();
        const card = label.getBoundingClientRect();
        const lines = [...label.querySelectorAll('.choice-meta, .choice-title')].map((line) => {
          const box = line.getBoundingClientRect();
          const height = parseFloat(getComputedStyle(line).lineHeight);
          return { text: line.textContent ?? '', width: box.width, lines: Math.round(box.height / height) };
        });
        return { radio: { width: radio.width, height: radio.height }, card: card.width, lines };
      }),
    );
    for (const card of cards) {
      const name = `${card.lines[0].text} at ${width} px`;
      expect(card.radio.width, `${name}: radio width`).toBeLessThanOrEqual(24);
      expect(card.radio.height, `${name}: radio height`).toBeLessThanOrEqual(24);
      for (const line of card.lines) {
        // The text gets the card's width beside the radio, and short facts stay on one line.
        expect(line.width, `${name}: "${line.text}" is squeezed`).toBeGreaterThan(card.card * 0.6);
        if (line.text.length <= 24) expect(line.lines, `${name}: "${line.text}" wraps`).toBe(1);
      }
    }
    expect(await sidewaysOverflow(page), `the wizard overflows sideways at ${width} px`).toBeLessThanOrEqual(0);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.screenshot({ path: 'screenshots/wizard-environments-1400.png', fullPage: true });
});

test('every page passes an accessibility audit (WCAG 2.1 AA), in light and dark', async ({ page, javaScriptEnabled }) => {
  // axe runs in the page: it needs JavaScript. The markup audited is the
  // server's either way.
  test.skip(javaScriptEnabled === false, 'axe-core runs as JavaScript in the page');
  test.setTimeout(180_000);
  await enterLab(page);
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const { name, path } of pages()) {
      await settle(page, path, javaScriptEnabled);
      const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      const problems = results.violations.map(
        (v) => `${v.id} (${v.nodes.length}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`,
      );
      expect(problems, `${name} (${path}) in ${colorScheme}`).toEqual([]);
    }
  }
});
