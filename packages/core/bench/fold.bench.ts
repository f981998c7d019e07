/**
 * Folding speed: 1 M events into one namespace+environment state (200 tenants), with `fold` and
 * with `evolve` event by event. Run: npx tsx packages/core/bench/fold.bench.ts
 */
import { evolve, fold, initialState, newEvent, stateAt, type NewEvent } from '../src/index.js';
import { recorded } from '../src/testing/given.js';

const meta = { actor: 'bench' };
const scope = { namespace: 'shelfwise', environment: 'prod' };
const n = Number(process.argv[2] ?? 1_000_000);
const events: NewEvent[] = new Array(n);
for (let i = 0; i < n; i++) {
  const tenant = i % 5 === 0 ? null : `tenant_${i % 200}`;
  const kind = i % 10;
  const e: NewEvent =
    kind < 7
      ? newEvent('ConfigValueSet', { ...scope, tenant, key: `app.key_${i % 50}`, value: i }, meta)
      : kind === 7
        ? newEvent('ConfigValueUnset', { ...scope, tenant, key: `app.key_${(i + 1) % 50}` }, meta)
        : kind === 8
          ? newEvent('FlagRolloutChanged', { ...scope, flag: `flag_${i % 20}`, rollout: i % 101, enabled: true }, meta)
          : newEvent(
              'FlagOverrideSet',
              { ...scope, tenant: `tenant_${i % 200}`, flag: `flag_${i % 20}`, override: i % 2 ? 'enabled' : null },
              meta,
            );
  events[i] = e;
}

const log = recorded(events);

const time = (name: string, run: () => unknown) => {
  const start = performance.now();
  run();
  const ms = performance.now() - start;
  console.log(
    `${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms   ${(((n / ms) * 1000) / 1e6).toFixed(2)} M events/s`,
  );
};
time('fold (copy-on-write per call)', () => fold(initialState('shelfwise', 'prod'), log));
time('stateAt (position = last)', () => stateAt(log, n, scope));
time('evolve (event by event)', () => log.reduce(evolve, initialState('shelfwise', 'prod')));
time('re-fold same events (idempotent)', () => {
  const s = fold(initialState('shelfwise', 'prod'), log);
  return fold(s, log);
});
