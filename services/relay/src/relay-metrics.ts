import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayMetricsSnapshot {
  /** Log head minus the relay's checkpoint: events written but not yet acknowledged by Kafka. */
  lagPositions: number;
  headPosition: number;
  checkpointPosition: number;
  /** Events this process published since it started. */
  publishedTotal: number;
  /** Events per second over the last `rateWindowMs`. */
  publishRate: number;
  isLeader: boolean;
}

const rateWindowMs = 10_000;

/** Counters kept by the relay; lag is read from PostgreSQL at scrape time so standbys report it too. */
export class RelayMetrics {
  publishedTotal = 0;
  #recent: { at: number; count: number }[] = [];

  recordPublished(count: number, now = Date.now()): void {
    this.publishedTotal += count;
    this.#recent.push({ at: now, count });
    this.#prune(now);
  }

  publishRate(now = Date.now()): number {
    this.#prune(now);
    const count = this.#recent.reduce((sum, sample) => sum + sample.count, 0);
    return count / (rateWindowMs / 1000);
  }

  #prune(now: number): void {
    while (this.#recent.length > 0 && this.#recent[0]!.at < now - rateWindowMs) this.#recent.shift();
  }
}

/** Prometheus text exposition format 0.0.4. */
export const renderRelayMetrics = (snapshot: RelayMetricsSnapshot, topic: string): string => {
  const label = `{topic="${topic.replace(/["\\]/g, '\\$&')}"}`;
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${label} ${value}`);
  };
  metric('strata_relay_lag_positions', 'gauge', 'Log head position minus the relay checkpoint.', snapshot.lagPositions);
  metric('strata_relay_head_position', 'gauge', 'Highest committed log position.', snapshot.headPosition);
  metric(
    'strata_relay_checkpoint_position',
    'gauge',
    'Last position acknowledged by Kafka.',
    snapshot.checkpointPosition,
  );
  metric(
    'strata_relay_published_events_total',
    'counter',
    'Events published to Kafka by this process.',
    snapshot.publishedTotal,
  );
  metric('strata_relay_publish_rate', 'gauge', 'Events per second published over the last 10 s.', snapshot.publishRate);
  metric(
    'strata_relay_is_leader',
    'gauge',
    '1 while this process holds the relay lock and publishes.',
    snapshot.isLeader ? 1 : 0,
  );
  return `${lines.join('\n')}\n`;
};

/** Serves `GET /metrics`; resolves with the server once it listens (port 0 picks one). */
export const serveMetrics = async (
  port: number,
  render: () => Promise<string>,
): Promise<{ server: Server; port: number }> => {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    render().then(
      (body) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body),
      () => response.writeHead(503, { 'content-type': 'text/plain' }).end('# metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
};
