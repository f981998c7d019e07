/**
 * The reading service of the mixed-load benchmark: an SDK client on the Redis views doing
 * `resolve()` for 200 tenants at <reads/s> (paced every 10 ms, catching up when a timer is late),
 * printing `ready`, then one JSON line `{ "value": …, "at": <epoch ms> }` per change it sees of
 * `bench.counter`, `{ "heap": bytes, "at": … }` once a second (its live heap, -1 before the first
 * full GC), and on stdin's end `{ "reads": n, "seconds": s, "errors": n, "rssStart": bytes, "rssEnd": bytes }`.
 *   mixed-child.ts <redisUrl> <prefix> <namespace> <environment> <seedPosition> <reads/s>
 */
import { createClient } from '@strata/sdk';
import { liveHeapBytes } from '@strata/service-runtime';

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
const rate = Number(readsPerSecond);
let reads = 0;
let errors = 0;
let sink = 0;
const rssStart = process.memoryUsage().rss;
const started = performance.now();
// Every 10 ms, the reads due by now: a late timer (the machine is shared with the whole stack)
// catches up instead of lowering the rate.
const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - started) / 1000) * rate);
  while (reads < due) {
    try {
      const resolution = client.resolve('bench.counter', { tenant: tenants[reads % tenants.length]! });
      sink ^= typeof resolution.value === 'number' ? resolution.value : 0;
    } catch {
      errors++;
    }
    reads++;
  }
}, 10);
// The live heap once a second (as the services' strata_heap_live_bytes), for the bench's live-heap
// row; called once now so it watches collections from the start.
liveHeapBytes();
const heapTimer = setInterval(
  () => process.stdout.write(`${JSON.stringify({ heap: liveHeapBytes(), at: now() })}\n`),
  1_000,
);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  clearInterval(heapTimer);
  process.stdout.write(
    `${JSON.stringify({ reads, seconds: (performance.now() - started) / 1000, errors, rssStart, rssEnd: process.memoryUsage().rss, sink })}\n`,
  );
  void client.close().then(() => process.exit(0));
});
