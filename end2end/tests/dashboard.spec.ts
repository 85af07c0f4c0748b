import { expect, test } from '@playwright/test';
import { signIn } from './auth';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test.describe('dashboard', () => {
  test('renders on the server with the environments from the database', async ({ page }) => {
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle('Dashboard · Hotswap');
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();

    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Dashboard', 'Deployments', 'Deploy', 'Approvals', 'Admin']) {
      await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
    }
    await expect(nav.getByRole('link', { name: 'Dashboard' })).toHaveAttribute('aria-current', 'page');

    const environments = page.getByRole('region', { name: 'Environments' });
    for (const name of ['dev', 'qa', 'staging', 'production']) {
      await expect(environments.getByRole('listitem', { name })).toBeVisible();
    }
    await expect(environments.getByRole('listitem', { name: 'production' })).toContainText('Needs 1 approval(s)');
    await expect(environments.getByRole('listitem', { name: 'dev' })).toContainText('No approval needed');
    await expect(page.getByRole('region', { name: 'Recent history' })).toContainText('No deployments yet');
  });
});

test.describe('hydration', () => {
  test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'needs JavaScript');

  test('the optimised bundle hydrates and the environment filter works', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });

    await page.goto('/');
    await expect(page.locator('[data-hydrated="true"]')).toBeAttached();

    const filter = page.getByRole('group', { name: 'Show environment' });
    const environments = page.getByRole('region', { name: 'Environments' });
    await filter.getByRole('button', { name: 'production' }).click();

    await expect(filter.getByRole('button', { name: 'production' })).toHaveAttribute('aria-pressed', 'true');
    await expect(filter.getByRole('button', { name: 'All environments' })).toHaveAttribute('aria-pressed', 'false');
    await expect(environments.getByRole('listitem', { name: 'production' })).toBeVisible();
    await expect(environments.getByRole('listitem', { name: 'dev' })).toBeHidden();

    await filter.getByRole('button', { name: 'All environments' }).click();
    await expect(environments.getByRole('listitem', { name: 'dev' })).toBeVisible();

    await page.screenshot({ path: 'screenshots/dashboard.png', fullPage: true });
    expect(errors).toEqual([]);
  });

  test('navigation between pages happens without a full reload', async ({ page }) => {
    await page.goto('/');
    await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
    await expect(page).toHaveURL(/\/admin$/);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  });
});

test.describe('without JavaScript', () => {
  test.skip(({ javaScriptEnabled }) => javaScriptEnabled, 'checks the server-rendered page only');

  test('the page is complete and readable, and not hydrated', async ({ page }) => {
    await page.goto('/');
    await expect(page.locator('[data-hydrated="false"]')).toBeAttached();
    await expect(page.getByRole('region', { name: 'Environments' }).getByRole('listitem')).toHaveCount(4);
    await page.getByRole('link', { name: 'Deployments', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Deployments' })).toBeVisible();
    await expect(page.getByText('No deployments match')).toBeVisible();
  });
});
