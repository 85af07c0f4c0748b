import { expect, type Page } from '@playwright/test';

export const adminPassword = process.env.HOTSWAP_E2E_ADMIN_PASSWORD ?? 'end-to-end-admin-password';

/** Signs in through the login form, as a person would. */
export async function signIn(page: Page, username = 'admin', password = adminPassword) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

/**
 * A member's first sign-in with the temporary password an admin set: Hotswap
 * sends them to their account page to choose their own before anything else.
 */
export async function signInFirstTime(page: Page, username: string, temporary: string, chosen: string) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(temporary);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText('Choose a new password before you go on.')).toBeVisible();
  // Let the page finish hydrating (when JavaScript is on) before using the form.
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Current password').fill(temporary);
  await page.getByLabel('New password').fill(chosen);
  // Hydrated, the form calls the server in the background; without JavaScript
  // it posts and comes back. Either way, wait for the answer before moving on.
  const answered = page.waitForResponse((r) => r.url().includes('/api/fn/change_password'));
  await page.getByRole('button', { name: 'Change password' }).click();
  expect((await answered).status()).toBeLessThan(400);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
}
