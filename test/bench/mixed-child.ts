/**
 * The reading service of the mixed-load benchmark: an SDK client on the Redis views doing
 * `resolve()` for 200 tenants at <reads/s> (paced every 10 ms), printing `ready`, then one JSON line
 * `{ "value": …, "at": <epoch ms> }` per change it sees of `bench.counter`, and on stdin's end
 * `{ "reads": n, "errors": n, "rssStart": bytes, "rssEnd": bytes }`.
 *   mixed-child.ts <redisUrl> <prefix> <namespace> <environment> <seedPosition> <reads/s>
 */
import { createClient } from '@strata/sdk';

const [redisUrl, prefix, namespace, environment, seedPosition, readsPerSecond] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const now = () => performance.timeOrigin + performance.now();
const client = createClient({ namespace, environment, redis: redisUrl, prefix });
await client.ready();
await client.waitFor(Number(seedPosition), 60_000);
client.onChange('bench.counter', (event) =>
  process.stdout.write(`${JSON.stringify({ value: event.value, at: now() })}\n`),
);
const tenants = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);
const perTick = Math.max(1, Math.round(Number(readsPerSecond) / 100));
let reads = 0;
let errors = 0;
let sink = 0;
const rssStart = process.memoryUsage().rss;
const timer = setInterval(() => {
  for (let i = 0; i < perTick; i++) {
    try {
      const resolution = client.resolve('bench.counter', { tenant: tenants[reads % tenants.length]! });
      sink ^= typeof resolution.value === 'number' ? resolution.value : 0;
      reads++;
    } catch {
      errors++;
    }
  }
}, 10);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  process.stdout.write(`${JSON.stringify({ reads, errors, rssStart, rssEnd: process.memoryUsage().rss, sink })}\n`);
  void client.close().then(() => process.exit(0));
});
