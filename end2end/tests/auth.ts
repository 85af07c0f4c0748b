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
