import { expect, test, type Page } from '@playwright/test';
import { signIn, signInFirstTime } from './auth';

test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'the admin forms are interactive');

async function invite(page: Page, username: string, role: string, password: string) {
  const members = page.getByRole('region', { name: 'Members' });
  await members.getByLabel('Username').fill(username);
  await members.getByLabel('Role', { exact: true }).selectOption(role);
  await members.getByLabel('Temporary password').fill(password);
  await members.getByRole('button', { name: 'Invite' }).click();
  await expect(members.getByRole('status')).toContainText(`Invited ${username}`);
  await expect(members.getByRole('row', { name: username })).toBeVisible();
}

test('an admin invites members, and disabling one signs them out', async ({ page, browser }) => {
  // Three people sign in, two of them choosing a password: each a deliberate
  // password hash, slow by design.
  test.setTimeout(60_000);
  const suffix = Date.now().toString(36);
  const deployer = `dep-${suffix}`;
  const viewer = `view-${suffix}`;
  await signIn(page);
  await page.goto('/admin');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();

  // Validation as you type, next to the field.
  const members = page.getByRole('region', { name: 'Members' });
  await members.getByLabel('Username').fill('x y');
  await expect(members.getByLabel('Username')).toHaveAttribute('aria-invalid', 'true');
  await expect(members.getByText("2 to 64 characters: letters, digits, '.', '_', '-' or '@'")).toBeVisible();
  await expect(members.getByRole('button', { name: 'Invite' })).toBeDisabled();

  await invite(page, deployer, 'deployer', 'deployer-password-1');
  await invite(page, viewer, 'viewer', 'viewer-password-12');
  await page.screenshot({ path: 'screenshots/admin.png', fullPage: true });

  // The viewer sees no mutating controls, and the API refuses them.
  const viewerContext = await browser.newContext();
  const viewerPage = await viewerContext.newPage();
  await signInFirstTime(viewerPage, viewer, 'viewer-password-12', 'viewer-chosen-password');
  await expect(viewerPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' })).toHaveCount(0);
  await viewerPage.goto('/admin');
  await expect(viewerPage.getByRole('alert')).toContainText('needs the Admin role');
  await expect(viewerPage.getByRole('button', { name: 'Invite' })).toHaveCount(0);
  const refused = await viewerPage.request.get('/api/v1/users');
  expect(refused.status()).toBe(403);
  await viewerContext.close();

  // The deployer is signed in; disabling them ends the session at their next request.
  const deployerContext = await browser.newContext();
  const deployerPage = await deployerContext.newPage();
  await signInFirstTime(deployerPage, deployer, 'deployer-password-1', 'deployer-chosen-password');

  const row = members.getByRole('row', { name: deployer });
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row.getByRole('alertdialog')).toContainText(`Disable ${deployer} in this tenant?`);
  await row.getByRole('button', { name: 'Yes, disable' }).click();
  await expect(members.getByRole('row', { name: deployer })).toContainText('disabled');

  await deployerPage.goto('/deployments');
  await expect(deployerPage).toHaveURL(/\/login\?next=\/deployments/);
  await deployerContext.close();
});

test('an admin creates an API token and sees it once', async ({ page }) => {
  await signIn(page);
  await page.goto('/admin');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  const tokens = page.getByRole('region', { name: 'API tokens' });
  const name = `ci-${Date.now().toString(36)}`;
  await tokens.getByLabel('Token name').fill(name);
  await tokens.getByLabel('Expires after').fill('30d');
  await tokens.getByRole('button', { name: 'Create token' }).click();
  const secret = tokens.getByRole('status').locator('code');
  await expect(secret).toHaveText(/^hst_/);
  const token = (await secret.textContent()) ?? '';

  const me = await page.request.get('/api/v1/auth/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);

  const row = tokens.getByRole('row', { name });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(tokens.getByRole('row', { name })).toContainText('revoked');
  const after = await page.request.get('/api/v1/auth/me', { headers: { Authorization: `Bearer ${token}` } });
  expect(after.status()).toBe(401);

  const audit = page.getByRole('region', { name: 'Audit log' });
  await page.reload();
  await expect(audit.getByRole('cell', { name: '/api/fn/revoke_token' }).first()).toBeVisible();
});
