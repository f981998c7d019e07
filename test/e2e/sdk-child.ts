/**
 * An SDK user in a process of its own (spawned by pipeline.e2e.spec.ts): it loads one
 * namespace/environment from the stack's Redis views and prints one JSON line per change, with
 * what a read returns right after the change fired.
 */
import { createClient } from '@strata/sdk';

const namespace = process.env.SDK_NAMESPACE ?? 'shop';
const environment = process.env.SDK_ENV ?? 'prod';
const client = createClient({
  namespace,
  environment,
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.STRATA_REDIS_PREFIX ?? 'strata:',
});
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

client.onChange('', (change) => {
  const tenant = change.tenant ?? undefined;
  const read =
    change.kind === 'flag'
      ? client.isEnabled(change.key, tenant === undefined ? {} : { tenant })
      : client.get(change.key, tenant === undefined ? {} : { tenant });
  print({
    type: 'change',
    kind: change.kind,
    key: change.key,
    tenant: change.tenant,
    value: change.value,
    position: change.position,
    read,
  });
});

await client.ready();
print({ type: 'ready', position: client.status().position });
const stop = () => void client.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
