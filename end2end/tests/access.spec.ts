import { expect, test } from '@playwright/test';
import { signIn, signInFirstTime } from './auth';

test('a visitor is sent to the login page and back after signing in', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/login\?next=\/admin$/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(process.env.HOTSWAP_E2E_ADMIN_PASSWORD ?? 'end-to-end-admin-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Admin' })).toBeVisible();
});

test('a wrong password is explained on the login page', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('certainly not it');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  await expect(page.getByLabel('Username')).toHaveValue('admin');
});

test('a viewer sees no admin controls and the API refuses them', async ({ page, browser, baseURL }, info) => {
  await signIn(page);
  const username = `viewer-${info.project.name}-${Date.now().toString(36)}`.replace(/[^a-z0-9-]/g, '');
  // Same-origin requests from the page carry its Origin; the CSRF check needs it.
  const origin = { Origin: baseURL ?? '' };
  const created = await page.request.post('/api/v1/users', {
    data: { username, role: 'viewer', password: 'viewer-password-123' },
    headers: origin,
  });
  expect(created.status()).toBe(201);

  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signInFirstTime(viewer, username, 'viewer-password-123', 'my-own-viewer-password');
  const nav = viewer.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Dashboard' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Admin' })).toHaveCount(0);
  const refused = await viewer.request.post('/api/v1/tokens', { data: { name: 'nope' }, headers: origin });
  expect(refused.status()).toBe(403);
  await viewer.getByRole('button', { name: 'Sign out' }).click();
  await expect(viewer.getByRole('status')).toHaveText('You are signed out.');
  await context.close();
});
