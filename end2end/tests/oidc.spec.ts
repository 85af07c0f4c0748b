import { expect, test, type Page } from '@playwright/test';
import { signIn } from './auth';

// Against the real OpenID providers of fixtures/oidc-provider.mjs, started by
// scripts/test.sh: the configured one, and an impostor one port up.
const issuer = process.env.HOTSWAP_E2E_OIDC_ISSUER ?? 'http://127.0.0.1:4400';

test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'one run of the redirect flow is enough');

/** Starts a sign-in in this browser's session; returns where Hotswap sends the browser. */
async function startSignIn(page: Page): Promise<URL> {
  const response = await page.request.get('/auth/oidc/login', { maxRedirects: 0 });
  expect(response.status()).toBe(303);
  return new URL(response.headers()['location']);
}

/** Signs in at the provider's development pages and consents. */
async function atProvider(page: Page, login: string) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]').click(); // consent
}

async function expectRefusal(page: Page, words: RegExp) {
  await expect(page.getByRole('heading', { name: 'Sign-in failed' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveText(words);
}

/** The reasons of failed single sign-on attempts in the audit log, read by the admin. */
async function auditReasons(page: Page): Promise<string[]> {
  const admin = await page.context().browser()!.newContext();
  const adminPage = await admin.newPage();
  await signIn(adminPage);
  const response = await adminPage.request.get('/api/v1/audit?action=auth.oidc&outcome=failure&limit=200');
  const body = await response.json();
  await admin.close();
  return body.items.map((e: { details: { reason: string } }) => e.details.reason);
}

test('signing in with the OpenID provider provisions the user with their mapped role', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await expect(page).toHaveURL(new RegExp(`^${issuer}/`));
  await atProvider(page, 'ops-olivia');
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('link', { name: /ops-olivia/ })).toContainText('Admin');
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
});

test('a tampered state is refused with a clear page and an audit entry', async ({ page }) => {
  const url = await startSignIn(page);
  url.searchParams.set('state', 'forged-state');
  await page.goto(url.toString());
  await atProvider(page, 'sam');
  await expectRefusal(page, /state does not match/);
  expect(await auditReasons(page)).toContainEqual(expect.stringContaining('state does not match'));
});

test('a replayed authorization code is refused', async ({ page }) => {
  let callback = '';
  page.on('request', (request) => {
    if (request.url().includes('/auth/oidc/callback')) callback = request.url();
  });
  await page.goto((await startSignIn(page)).toString());
  await atProvider(page, 'rita');
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  const used = new URL(callback);

  // A new sign-in, answered with the code already spent on the first.
  const fresh = await startSignIn(page);
  used.searchParams.set('state', fresh.searchParams.get('state')!);
  await page.goto(used.toString());
  await expectRefusal(page, /authorization code was refused/);
  expect(await auditReasons(page)).toContainEqual(expect.stringContaining('authorization code was refused'));
});

test('an ID token with the wrong nonce is refused', async ({ page }) => {
  const url = await startSignIn(page);
  url.searchParams.set('nonce', 'not-the-nonce-hotswap-sent');
  await page.goto(url.toString());
  await atProvider(page, 'nina');
  await expectRefusal(page, /ID token did not verify/);
  expect(await auditReasons(page)).toContainEqual(expect.stringContaining('ID token did not verify'));
});

test('an answer from an unknown issuer is refused', async ({ page }) => {
  const url = await startSignIn(page);
  url.port = String(Number(url.port) + 1); // the impostor provider
  await page.goto(url.toString());
  await atProvider(page, 'ivan');
  await expectRefusal(page, /unknown issuer/);
  expect(await auditReasons(page)).toContainEqual(expect.stringContaining('unknown issuer'));
});

test('a member pre-registered by email signs in with the provider and keeps the invited role', async ({
  page,
  browser,
  baseURL,
}) => {
  const login = `carol${Date.now().toString(36)}`;
  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await signIn(adminPage);
  const invited = await adminPage.request.post('/api/v1/users', {
    data: { username: login, email: `${login}@example.com`, role: 'deployer' },
    headers: { Origin: baseURL ?? '' },
  });
  expect(invited.status()).toBe(201);
  expect((await invited.json()).sign_in).toBe('single sign-on');
  await admin.close();

  await page.goto((await startSignIn(page)).toString());
  await atProvider(page, login);
  await expect(page.getByRole('link', { name: new RegExp(login) })).toContainText('Deployer');
});
