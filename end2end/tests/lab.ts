import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { adminPassword, signIn, signInFirstTime } from './auth';

const hotswap = resolve(__dirname, '../../target/debug/hotswap');

/** Health scripts the agents run as their probe, from inside the release. */
export const HEALTHY = 'exit 0\n';
/** Healthy often enough to pass the swap, then fails about half of its probes. */
export const FLAKY = 'test "$(od -An -N1 -tu1 /dev/urandom)" -lt 128\n';

/**
 * A tenant of its own for one journey, so journeys running side by side never
 * share environments, policies or nodes: its admin's page, its members, real
 * agent processes and published versions.
 */
export class Lab {
  readonly agents: { name: string; root: string; process: ChildProcess }[] = [];
  private readonly contexts: BrowserContext[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'hotswap-e2e-lab-'));
  private readonly modules = new Set<string>();

  private constructor(
    readonly browser: Browser,
    readonly baseURL: string,
    readonly slug: string,
    readonly admin: Page,
  ) {}

  static async open(browser: Browser, baseURL: string, name: string): Promise<Lab> {
    const slug = `${name}-${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9-]/g, '').slice(0, 40);
    const context = await browser.newContext();
    const admin = await context.newPage();
    await signIn(admin, 'admin', adminPassword);
    const lab = new Lab(browser, baseURL, slug, admin);
    lab.contexts.push(context);
    await lab.call('POST', '/api/v1/tenants', { slug, name: `Lab ${name}` }, 201);
    await lab.call('POST', '/api/v1/auth/tenant', { tenant: slug }, 200);
    return lab;
  }

  /** An API call as the lab's admin, from its page (same origin, its cookie). */
  async call(method: string, path: string, data?: unknown, status?: number): Promise<any> {
    return this.callAs(this.admin, method, path, data, status);
  }

  /** An API call as whoever is signed in on `page` (same origin, their cookie). */
  async callAs(page: Page, method: string, path: string, data?: unknown, status?: number): Promise<any> {
    const response = await page.request.fetch(path, {
      method,
      data,
      headers: { Origin: this.baseURL },
    });
    const text = await response.text();
    if (status !== undefined) expect(response.status(), `${method} ${path}: ${text}`).toBe(status);
    return text ? JSON.parse(text) : null;
  }

  /** A member of the lab's tenant, signed in on a page of their own. */
  async member(username: string, role: 'viewer' | 'deployer' | 'admin'): Promise<Page> {
    const name = `${username}-${this.slug}`.slice(0, 60);
    await this.call('POST', '/api/v1/users', { username: name, role, password: 'temporary-password-1' }, 201);
    const context = await this.browser.newContext();
    this.contexts.push(context);
    const page = await context.newPage();
    await signInFirstTime(page, name, 'temporary-password-1', 'a-chosen-password-123');
    return page;
  }

  /** Starts real agents enrolled in `environment`, and waits until they are online. */
  async startAgents(environment: string, count: number): Promise<void> {
    const { token } = await this.call('POST', `/api/v1/environments/${environment}/enrollment-tokens`, { uses: count }, 201);
    for (let i = 0; i < count; i++) {
      const name = `${environment}-${i}`;
      const root = join(this.dir, name);
      const process = spawn(
        hotswap,
        ['agent', '--server', this.baseURL, '--token', token, '--root', root, '--name', name,
          '--heartbeat', '300ms', '--probe-interval', '100ms', '--health-grace', '3s', '--artifact-dir', this.dir,
          '--health-cmd', 'sh app/current/health.sh'],
        { stdio: 'ignore' },
      );
      this.agents.push({ name, root, process });
    }
    await expect(async () => {
      const page = await this.call('GET', `/api/v1/nodes?environment=${environment}&status=online`);
      const nodes: any[] = page.items;
      expect(nodes.filter((n) => n.environment === environment && n.status === 'online')).toHaveLength(count);
    }).toPass({ timeout: 20_000 });
  }

  /** Publishes `version` of module `app`, whose probe runs `health`. */
  async publish(version: string, health: string): Promise<void> {
    if (!this.modules.has('app')) {
      await this.call('POST', '/api/v1/modules', { name: 'app' }, 201);
      this.modules.add('app');
    }
    const src = mkdtempSync(join(this.dir, 'src-'));
    writeFileSync(join(src, 'health.sh'), health, { mode: 0o755 });
    writeFileSync(join(src, 'payload.txt'), version);
    const file = join(this.dir, `app-${version}.tar.gz`);
    execFileSync('tar', ['czf', file, '-C', src, 'health.sh', 'payload.txt']);
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    await this.call('POST', '/api/v1/modules/app/versions', { version, artifact_url: `file://${file}`, sha256 }, 201);
  }

  /** The release each agent's `app/current` points at, read from disk. */
  currents(): string[] {
    return this.agents.map((a) => {
      try {
        return basename(readlinkSync(join(a.root, 'app', 'current')));
      } catch {
        return 'nothing';
      }
    });
  }

  async close(): Promise<void> {
    for (const a of this.agents) a.process.kill('SIGKILL');
    for (const c of this.contexts) await c.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
