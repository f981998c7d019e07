/**
 * Rough micro-benchmark of the hot read paths on a ShelfWise-sized state (200 tenants).
 * Run: npx tsx packages/core/bench/resolve.bench.ts
 * Throughput comes from a tight loop; p50/p99 from per-call hrtime samples, which include ~30-60 ns
 * of timer overhead, so they are upper bounds.
 */
import {
  bucket,
  evaluateFlag,
  fold,
  initialState,
  newEvent,
  resolveConfig,
  resolveKey,
  type ManifestDocument,
  type NewEvent,
} from '../src/index.js';
import { recorded } from '../src/testing/given.js';

const meta = { actor: 'bench' };
const scope = { namespace: 'shelfwise', environment: 'prod' };
const tenants = Array.from({ length: 200 }, (_, i) => `tenant_${String(i + 1).padStart(3, '0')}`);
const manifest: ManifestDocument = {
  keys: Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`app.key_${i}`, { type: 'integer', default: i, minimum: 0 }]),
  ),
  flags: { new_checkout: { type: 'boolean' }, ai_search: { type: 'boolean' } },
  secrets: {},
};
const events: NewEvent[] = [newEvent('ManifestPublished', { namespace: 'shelfwise', manifest }, meta)];
for (let i = 0; i < 20; i += 2)
  events.push(newEvent('ConfigValueSet', { ...scope, tenant: null, key: `app.key_${i}`, value: i * 10 }, meta));
tenants.forEach((tenant, t) => {
  for (let i = 0; i < 20; i += 5)
    events.push(newEvent('ConfigValueSet', { ...scope, tenant, key: `app.key_${(i + t) % 20}`, value: t }, meta));
  if (t % 10 === 0)
    events.push(newEvent('FlagOverrideSet', { ...scope, tenant, flag: 'new_checkout', override: 'enabled' }, meta));
});
events.push(newEvent('FlagRolloutChanged', { ...scope, flag: 'new_checkout', rollout: 25, enabled: true }, meta));
const log = recorded(events);
const state = fold(initialState('shelfwise', 'prod'), log);
const keys = Object.keys(manifest.keys);

let sink = 0;
const measure = (name: string, op: (i: number) => unknown) => {
  for (let i = 0; i < 200_000; i++) op(i); // warm up
  const n = 2_000_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) if (op(i)) sink++;
  const seconds = (performance.now() - start) / 1000;
  const samples = new Float64Array(200_000);
  for (let i = 0; i < samples.length; i++) {
    const t0 = process.hrtime.bigint();
    op(i);
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  samples.sort();
  const pct = (p: number) => samples[Math.floor(samples.length * p)]!;
  console.log(
    `${name.padEnd(28)} ${(n / seconds / 1e6).toFixed(2).padStart(6)} M ops/s   p50 ${pct(0.5).toFixed(0).padStart(5)} ns   p99 ${pct(0.99).toFixed(0).padStart(5)} ns`,
  );
};

console.log(`state: ${tenants.length} tenants, ${keys.length} keys, ${log.length} events, node ${process.version}`);
measure('resolveKey', (i) => resolveKey(state, tenants[i % 200]!, keys[i % 20]!));
measure('evaluateFlag', (i) => evaluateFlag(state, 'new_checkout', tenants[i % 200]!).enabled);
measure('bucket (sha256, uncached)', (i) => bucket(tenants[i % 200]!, 'ai_search') < 50);
const memo = new Map<string, number>();
measure('bucket (caller-memoised)', (i) => {
  const k = tenants[i % 200]!;
  let b = memo.get(k);
  if (b === undefined) memo.set(k, (b = bucket(k, 'ai_search')));
  return b < 50;
});
const start = performance.now();
for (let i = 0; i < 20_000; i++) sink += Object.keys(resolveConfig(state, tenants[i % 200]!).values).length;
console.log(
  `resolveConfig (20 keys)       ${(20_000 / ((performance.now() - start) / 1000) / 1e3).toFixed(0)} k ops/s`,
);
if (sink < 0) console.log(sink);
