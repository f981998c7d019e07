import { expect, test } from 'vitest';
import { privateKafka } from '@strata/testing';
import { freePort, sleep, startStack, waitFor } from './stack-fixture.js';

/**
 * Issue 12 item 4 with real processes: api, relay and projector on a broker of this spec's own,
 * which is stopped for 15 s under writes and started again. Writes keep succeeding (the log is
 * PostgreSQL); once the broker answers, the views converge within 5 s; the relay and the projector
 * each print one warning when Kafka goes and one info line when it is back, and their
 * `kafka_connected` gauges follow. A SIGTERM while the broker is away still ends both promptly.
 */
const ns = 'outage';
const P = `/v1/namespaces/${ns}/envs/prod`;
const outageMs = 15_000;
const convergeBoundMs = 5_000;

const gauge = async (port: number, name: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
};

test('15 s broker outage: views converge within 5 s of the broker answering, one warning and one info per service', async () => {
  await using kafka = await privateKafka();
  await kafka.start();
  const [relayPort, projectorPort] = [await freePort(), await freePort()];
  await using stack = await startStack({
    brokers: kafka.brokers,
    env: {
      RELAY_METRICS_PORT: String(relayPort),
      PROJECTOR_METRICS_PORT: String(projectorPort),
      // The production defaults, not the fixture's short ones: a consumer that rejoined under a
      // new member id would wait out this whole session timeout (30 s) after the broker is back.
      PROJECTOR_SESSION_TIMEOUT_MS: '30000',
      PROJECTOR_HEARTBEAT_INTERVAL_MS: '3000',
    },
  });
  const connected = async () => [
    await gauge(relayPort, 'strata_relay_kafka_connected').catch(() => NaN),
    await gauge(projectorPort, 'strata_projector_kafka_connected').catch(() => NaN),
  ];
  let written = 0;
  const write = async () => {
    written++;
    const answer = await stack.call('PUT', `${P}/config/limits.rpm`, { value: written, reason: 'outage' });
    expect(answer.status, answer.text).toBe(200);
  };
  const visible = async () => {
    const answer = await stack.call('GET', `${P}/config`);
    return answer.status === 200 && answer.body.values?.['limits.rpm']?.value === written;
  };

  const manifest = { keys: { 'limits.rpm': { type: 'integer', default: 1 } }, flags: {}, secrets: {} };
  expect((await stack.call('PUT', `/v1/namespaces/${ns}/manifest`, { ...manifest, reason: 'outage' })).status).toBe(
    200,
  );
  await write();
  await waitFor(visible, 'the first write in the views', 60_000, 100);
  await waitFor(async () => (await connected()).every((v) => v === 1), 'both services connected', 30_000, 200);

  const mark = stack.logs().split('\n').length;
  await kafka.stop();
  const stoppedAt = Date.now();
  let sawDisconnected = false;
  while (Date.now() - stoppedAt < outageMs) {
    await write();
    if (!sawDisconnected) sawDisconnected = (await connected()).every((v) => v === 0);
    await sleep(500);
  }
  expect(sawDisconnected, 'both gauges showed 0 during the outage').toBe(true);

  const startingAt = Date.now();
  await kafka.start();
  const backAt = Date.now();
  console.info(
    `broker stopped at ${new Date(stoppedAt).toISOString()}, start called ${new Date(startingAt).toISOString()}, ready ${new Date(backAt).toISOString()}`,
  );
  await waitFor(visible, `write ${written} in the views after the outage`, 60_000, 100);
  const convergedMs = Date.now() - backAt;
  console.info(`converged ${new Date().toISOString()}`);
  await waitFor(async () => (await connected()).every((v) => v === 1), 'both services connected again', 30_000, 200);
  // Give late retries a moment to print whatever they would print.
  await sleep(3_000);

  const lines = stack.logs().split('\n').slice(mark);
  const of = (service: string) => lines.filter((line) => line.startsWith(`${service}| `));
  const report: Record<string, { lines: number; warnOrError: number; restoredAfterMs?: number }> = {};
  for (const service of ['relay', 'projector']) {
    const own = of(service);
    const parsed = own.map((line) => {
      try {
        return JSON.parse(line.slice(line.indexOf('| ') + 2)) as { level?: string; msg?: string; time?: string };
      } catch {
        return { level: 'raw', msg: line };
      }
    });
    report[service] = {
      lines: own.length,
      warnOrError: parsed.filter((l) => l.level !== 'info' && l.level !== 'debug').length,
      restoredAfterMs: Date.parse(parsed.find((l) => l.msg === 'kafka connection restored')?.time ?? '') - backAt,
    };
    expect(
      parsed.filter((l) => l.msg === 'kafka connection lost; retrying'),
      `${service}: one warning`,
    ).toHaveLength(1);
    expect(
      parsed.filter((l) => l.msg === 'kafka connection restored'),
      `${service}: one info`,
    ).toHaveLength(1);
    expect(own.length, `${service} printed:\n${own.join('\n')}`).toBeLessThanOrEqual(6);
  }
  console.info(
    `kafka outage: ${written} writes, ${outageMs / 1000} s down, views converged ${(convergedMs / 1000).toFixed(1)} s ` +
      `after the broker was back; lines per service during the outage ${JSON.stringify(report)}`,
  );
  expect(convergedMs).toBeLessThanOrEqual(convergeBoundMs);

  // Stopping while Kafka is away is bounded too: both finish (nothing to commit) and exit 0.
  await kafka.stop();
  await write();
  await sleep(2_000);
  const stopping = Date.now();
  const exits = await Promise.all([stack.kill('relay', 'SIGTERM'), stack.kill('projector', 'SIGTERM')]);
  console.info(
    `relay and projector stopped ${((Date.now() - stopping) / 1000).toFixed(1)} s after SIGTERM, broker down`,
  );
  expect(exits).toEqual([
    { code: 0, signal: null },
    { code: 0, signal: null },
  ]);
  expect(Date.now() - stopping).toBeLessThan(20_000);
}, 240_000);
