import { createClient } from '../src/index.js';

/** Child process for the cross-process spec: prints `ready`, then one JSON line per change. */
const [url, prefix, namespace, environment] = process.argv.slice(2) as [string, string, string, string];
const client = createClient({ namespace, environment, redis: url, prefix });
await client.ready().catch(() => undefined);
client.onChange('', (event) => {
  const tenant = event.tenant ?? undefined;
  const read = event.kind === 'key' ? client.get(event.key, { tenant }) : client.isEnabled(event.key, { tenant });
  process.stdout.write(`${JSON.stringify({ ...event, read, at: Date.now() })}\n`);
});
process.stdout.write('ready\n');
process.stdin.on('end', () => void client.close().then(() => process.exit(0)));
process.stdin.resume();
