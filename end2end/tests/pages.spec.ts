import { expect, test } from '@playwright/test';
import { signIn } from './auth';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('an unknown address shows a styled 404 page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to the dashboard' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
});

test('admin lists every environment with its approval policy', async ({ page }) => {
  await page.goto('/admin');
  const table = page.getByRole('table', { name: 'Environments and policies' });
  await expect(table.getByRole('row')).toHaveCount(5);
  await expect(table.getByRole('row', { name: /production/ })).toContainText('1 approval(s) required');
  await expect(table.getByRole('row', { name: /^dev/ })).toContainText('not required');
});

test('the deployments filter rejects nothing and explains an empty result', async ({ page }) => {
  await page.goto('/deployments');
  await page.getByLabel('Status').selectOption('failed');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/status=failed/);
  await expect(page.getByText('No deployments match')).toBeVisible();
});

test('the API answers unknown routes with a JSON 404', async ({ page }) => {
  const response = await page.request.get('/api/v1/no-such-thing');
  expect(response.status()).toBe(404);
  expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
});
