import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot, startStack, type Stack } from './stack-fixture.js';

/**
 * What a service outside this repository gets: `npm run pack`'s tarballs installed into an empty
 * folder outside the repo with nothing but registry dependencies, then the SDK reading a running
 * stack and the installed `strata` CLI — on the machine's Node 20 and on the project's Node 24.
 */
const run = promisify(execFile);
const nodes = [
  { name: 'Node 20 (system)', bin: '/usr/bin/node' },
  { name: 'Node 24', bin: path.join(repoRoot, 'node_modules/.bin/node') },
].filter((n) => existsSync(n.bin));

const tarballs = () =>
  readdirSync(path.join(repoRoot, 'dist/packages'))
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => path.join(repoRoot, 'dist/packages', f));

/**
 * The machine's environment (certificates, proxies) without what this repo's npm run, vitest or
 * tsx set, so nothing of the repo leaks into the consumer; `node` first on PATH when given.
 */
const cleanEnv = (extra: Record<string, string> = {}, node?: string): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(npm_|NODE_OPTIONS$|NODE_PATH$|VITEST|TSX|INIT_CWD$)/i.test(k)) env[k] = v;
  const bins = (process.env['PATH'] ?? '/usr/bin:/bin').split(':').filter((p) => !p.startsWith(repoRoot));
  return { ...env, PATH: [...(node ? [path.dirname(node)] : []), ...bins].join(':'), NO_COLOR: '1', ...extra };
};

const npmInstall = async (dir: string, files: string[]) => {
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  try {
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files], {
      cwd: dir,
      env: cleanEnv(),
      timeout: 240_000,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`npm install failed: ${(stderr ?? '').slice(-3000)} ${(stdout ?? '').slice(-1000)}`, {
      cause: error,
    });
  }
};

const kib = (dir: string) => Number(execFileSync('du', ['-sk', dir]).toString().split('\t')[0]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The consumer's script: the SDK in Redis mode and in HTTP mode, one value and one flag each. */
const consumerScript = `
import { createClient, createHttpClient } from '@strata/sdk';
const scope = { namespace: 'shop', environment: 'prod' };
const redis = createClient({ ...scope, redis: process.env.REDIS_URL, prefix: process.env.STRATA_REDIS_PREFIX });
await redis.ready();
const http = createHttpClient({ ...scope, apiUrl: process.env.STRATA_URL, token: process.env.STRATA_TOKEN });
await http.ready();
const t = { tenant: 'acme' };
for (let i = 0; i < 200 && http.evaluate('new_checkout', t).stale; i++) await new Promise((r) => setTimeout(r, 25));
for (let i = 0; i < 200 && http.resolve('rate_limit.requests_per_minute', t).reason === 'tenant_loading'; i++) await new Promise((r) => setTimeout(r, 25));
console.log(JSON.stringify({
  node: process.version,
  redis: { value: redis.get('rate_limit.requests_per_minute', t), flag: redis.isEnabled('new_checkout', t) },
  http: { value: http.get('rate_limit.requests_per_minute', t), flag: http.isEnabled('new_checkout', t) },
}));
await Promise.all([redis.close(), http.close()]);
`;

let stack: Stack;
let consumer: string;
let sdkOnly: string;

beforeAll(async () => {
  execFileSync('bash', ['scripts/pack.sh'], { cwd: repoRoot, stdio: 'ignore', timeout: 300_000 });
  consumer = mkdtempSync(path.join(tmpdir(), 'strata-consumer-'));
  sdkOnly = mkdtempSync(path.join(tmpdir(), 'strata-sdk-size-'));
  expect(path.relative(repoRoot, consumer).startsWith('..')).toBe(true);
  await npmInstall(consumer, tarballs());
  await npmInstall(
    sdkOnly,
    tarballs().filter((f) => !path.basename(f).startsWith('strata-cli-')),
  );
  writeFileSync(path.join(consumer, 'check.mjs'), consumerScript);

  stack = await startStack();
  const ok = async (method: string, apiPath: string, body?: unknown) => {
    const answer = await stack.call(method, apiPath, body);
    if (answer.status >= 300) throw new Error(`${method} ${apiPath} → ${answer.status} ${answer.text}`);
    return answer.body as { position: number };
  };
  const P = '/v1/namespaces/shop/envs/prod';
  await ok('PUT', '/v1/namespaces/shop/manifest', {
    keys: { 'rate_limit.requests_per_minute': { type: 'integer', default: 60 } },
    flags: { new_checkout: { type: 'boolean' } },
  });
  await ok('PUT', `${P}/tenants/acme/config/rate_limit.requests_per_minute`, { value: 1000, reason: 'tier 2' });
  const last = await ok('PUT', `${P}/tenants/acme/flags/new_checkout`, { override: 'enabled' });
  // The projector has it: both SDK modes read it at once.
  await ok('GET', `${P}/tenants/acme/config?minPosition=${last.position}`);
}, 600_000);

afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
  for (const dir of [consumer, sdkOnly]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the installed packages', () => {
  test('install from the tarballs with registry dependencies only; the SDK stays small', () => {
    const installed = readdirSync(path.join(consumer, 'node_modules/@strata')).sort();
    expect(installed).toEqual(['cli', 'contracts', 'core', 'redis-views', 'sdk']);
    const size = kib(path.join(sdkOnly, 'node_modules'));
    console.info(`SDK installed size (with its dependencies): ${(size / 1024).toFixed(1)} MiB`);
    expect(size).toBeLessThan(40 * 1024);
  });

  for (const node of nodes) {
    test(`${node.name}: the SDK reads a value and evaluates a flag (Redis and HTTP mode)`, async () => {
      const { stdout } = await run(node.bin, ['check.mjs'], {
        cwd: consumer,
        env: cleanEnv(stack.env),
        timeout: 60_000,
      });
      const answer = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(answer).toMatchObject({
        redis: { value: 1000, flag: true },
        http: { value: 1000, flag: true },
      });
      expect(String(answer['node'])).toMatch(node.bin === '/usr/bin/node' ? /^v20\./ : /^v24\./);
    });

    test(`${node.name}: the installed strata CLI answers --version and history --json`, async () => {
      const strata = path.join(consumer, 'node_modules/.bin/strata');
      const env = cleanEnv(stack.env, node.bin);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const { stdout } = await run(strata, ['--version'], { cwd: consumer, env });
        times.push(performance.now() - started);
        expect(stdout.trim()).toBe('0.1.0');
      }
      const bare: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await run(node.bin, ['-e', ''], { env });
        bare.push(performance.now() - started);
      }
      console.info(
        `${node.name}: strata --version cold start ${median(times).toFixed(0)} ms median (node -e '' ${median(bare).toFixed(0)} ms)`,
      );
      const { stdout } = await run(strata, ['history', '--json', '-n', 'shop', '-e', 'prod'], { cwd: consumer, env });
      const events = JSON.parse(stdout) as Array<{ type: string }>;
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['ConfigValueSet', 'FlagOverrideSet']));
    });
  }
});
