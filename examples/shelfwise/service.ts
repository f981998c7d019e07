/**
 * A ShelfWise app instance: it reads its rate limits and the AI flag through the Strata SDK on
 * every (simulated) request, and prints each change the moment it hot-reloads — no restart, no
 * cache TTL — with the time from the log recording the change to this process applying it.
 */
import { createClient } from '@strata/sdk';
import { shelfwise, tenants } from './shelfwise.js';

const client = createClient({
  namespace: 'shelfwise',
  environment: 'prod',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.STRATA_REDIS_PREFIX ?? 'strata:',
  manifest: shelfwise,
});

const say = (line: string) => process.stdout.write(`${line}\n`);
const short = (tenant: string | null) => (tenant === null ? 'every tenant' : `tenant ${tenant.slice(0, 8)}`);
let flagChanges = 0;

client.onChange('', (change) => {
  const latency =
    change.latencyMs === undefined ? '' : ` — visible here ${change.latencyMs.toFixed(1)} ms after commit`;
  if (change.kind === 'flag') {
    // A rollout step touches one flag but decides for every tenant; say it once per change.
    flagChanges++;
    say(
      `hot reload: flag ${change.key} for ${short(change.tenant)} → ${JSON.stringify(change.value)} (position ${change.position})${latency}`,
    );
    return;
  }
  say(
    `hot reload: ${change.key} for ${short(change.tenant)}: ${JSON.stringify(change.previous)} → ${JSON.stringify(change.value)} (position ${change.position})${latency}`,
  );
});

const main = async () => {
  await client.ready();
  say(
    `ShelfWise service up: tenant A may send ${client.get('rate_limit.requests_per_minute', { tenant: tenants.a })}/min, ` +
      `AI recommendations for the beta tenant: ${client.isEnabled('ai_recommendations', { tenant: tenants.beta }) ? 'on' : 'off'}`,
  );
  // Requests keep reading the in-process cache; the status line shows it never went stale.
  const timer = setInterval(() => {
    const status = client.status();
    if (status.stale) say(`serving last known good config (stale since ${String(status.staleSince)})`);
  }, 5000);
  const stop = () => {
    clearInterval(timer);
    say(`ShelfWise service stopping after ${flagChanges} flag change(s)`);
    void client.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
};

main().catch((error: unknown) => {
  process.stderr.write(`service failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
