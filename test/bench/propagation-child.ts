/**
 * The "other process" of the propagation benchmark. Prints `ready`, then one JSON line
 * `{ "value": …, "at": <epoch ms, sub-ms> }` each time it sees a change, through one of:
 *   strata  <redisUrl> <prefix> <namespace> <environment> <seedPosition>   SDK onChange
 *   etcd    <clientUrl> <key>                                               etcd v3 watch (JSON gateway)
 *   unleash <apiUrl> <flag>                                                 unleash-client polling every 1 s
 */
import { Unleash } from 'unleash-client';
import { createClient } from '@strata/sdk';

const now = () => performance.timeOrigin + performance.now();
const emit = (value: unknown) => process.stdout.write(`${JSON.stringify({ value, at: now() })}\n`);
const [mode, ...args] = process.argv.slice(2);
let close: () => Promise<void> = async () => {};

if (mode === 'strata') {
  const [redisUrl, prefix, namespace, environment, seedPosition] = args as [string, string, string, string, string];
  const client = createClient({ namespace, environment, redis: redisUrl, prefix });
  await client.ready();
  await client.waitFor(Number(seedPosition), 60_000);
  client.onChange('bench', (event) => emit(event.value));
  close = () => client.close();
} else if (mode === 'etcd') {
  const [url, key] = args as [string, string];
  const abort = new AbortController();
  const response = await fetch(`${url}/v3/watch`, {
    method: 'POST',
    body: JSON.stringify({ create_request: { key: Buffer.from(key).toString('base64') } }),
    signal: abort.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += value;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = JSON.parse(buffer.slice(0, nl)) as { result?: { events?: { kv: { value: string } }[] } };
        buffer = buffer.slice(nl + 1);
        for (const e of line.result?.events ?? []) emit(JSON.parse(Buffer.from(e.kv.value, 'base64').toString()));
      }
    }
  })();
  close = async () => abort.abort();
} else if (mode === 'unleash') {
  const [url, flag] = args as [string, string];
  const unleash = new Unleash({
    appName: 'strata-bench',
    url,
    refreshInterval: 1_000,
    disableMetrics: true,
    skipInstanceCountWarning: true,
  });
  unleash.on('error', () => undefined);
  await new Promise<void>((resolve) => unleash.once('synchronized', () => resolve()));
  let last = unleash.isEnabled(flag);
  unleash.on('changed', () => {
    const enabled = unleash.isEnabled(flag);
    if (enabled !== last) emit(enabled);
    last = enabled;
  });
  close = async () => unleash.destroy();
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write('ready\n');
process.stdin.on('end', () => void close().then(() => process.exit(0)));
process.stdin.resume();
