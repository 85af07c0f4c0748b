import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { signIn } from './auth';

test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'the enrollment form is interactive');

const hotswap = resolve(__dirname, '../../target/debug/hotswap');

test('an admin enrolls a node from the admin page and sees it come online', async ({ page, baseURL }) => {
  const name = `e2e-node-${Date.now().toString(36)}`;
  await signIn(page);
  await page.goto('/admin');
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();

  const nodes = page.getByRole('region', { name: 'Nodes' });
  await nodes.getByLabel('Environment').selectOption('qa');
  await nodes.getByLabel('Expires after').fill('1h');
  await nodes.getByRole('button', { name: 'Create enrollment token' }).click();
  const notice = nodes.getByRole('status');
  await expect(notice).toContainText('Enrollment token for qa');
  const token = (await notice.locator('code.secret').textContent())?.trim() ?? '';
  expect(token).toMatch(/^hse_/);
  await expect(notice.locator('pre.command')).toContainText(`--token ${token}`);

  // A real agent process, with the token the page showed.
  const root = mkdtempSync(join(tmpdir(), 'hotswap-e2e-agent-'));
  let agent: ChildProcess | undefined;
  try {
    agent = spawn(hotswap, ['agent', '--server', baseURL!, '--token', token, '--root', root, '--name', name, '--labels', 'rack=7'], {
      stdio: 'ignore',
    });
    await expect(async () => {
      await page.reload();
      const row = page.getByRole('region', { name: 'Nodes' }).getByRole('row', { name });
      await expect(row).toContainText('online', { timeout: 1000 });
      await expect(row).toContainText('qa');
      await expect(row).toContainText('rack=7');
    }).toPass({ timeout: 20_000 });
    await page.screenshot({ path: 'screenshots/nodes.png', fullPage: true });
  } finally {
    agent?.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  }
});
