import { defineConfig } from '@playwright/test';

// The server is started by scripts/test.sh (or by hand) and named by HOTSWAP_E2E_URL.
const baseURL = process.env.HOTSWAP_E2E_URL ?? 'http://127.0.0.1:3000';

// Debian's Chromium; Playwright's own browser download is not available here.
const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: process.env.HOTSWAP_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: { baseURL, trace: 'retain-on-failure', screenshot: 'only-on-failure' },
  projects: [
    { name: 'hydrated', use: { ...chromium } },
    { name: 'no-javascript', use: { ...chromium, javaScriptEnabled: false } },
  ],
});
