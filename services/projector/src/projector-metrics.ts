import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RebuildProgress } from '@strata/redis-views';

export interface ProjectorMetricsSnapshot {
  lag: { partition: number; lag: number }[];
  assignedPartitions: number;
  appliedTotal: number;
  duplicatesTotal: number;
  applyRate: number;
  generation: number | null;
  rebuildsTotal: number;
  rebuild: RebuildProgress | null;
}

const rateWindowMs = 10_000;

/** Counters kept by the projector; lag and generation are read at scrape time. */
export class ProjectorMetrics {
  appliedTotal = 0;
  duplicatesTotal = 0;
  rebuildsTotal = 0;
  rebuild: RebuildProgress | null = null;
  #recent: { at: number; count: number }[] = [];

  recordApplied(applied: number, duplicates: number, now = Date.now()): void {
    this.appliedTotal += applied;
    this.duplicatesTotal += duplicates;
    this.#recent.push({ at: now, count: applied });
    this.#prune(now);
  }

  applyRate(now = Date.now()): number {
    this.#prune(now);
    return this.#recent.reduce((sum, sample) => sum + sample.count, 0) / (rateWindowMs / 1000);
  }

  #prune(now: number): void {
    while (this.#recent.length > 0 && this.#recent[0]!.at < now - rateWindowMs) this.#recent.shift();
  }
}

/** Prometheus text exposition format 0.0.4. */
export const renderProjectorMetrics = (snapshot: ProjectorMetricsSnapshot, group: string): string => {
  const label = (extra = '') => `{group="${group.replace(/["\\]/g, '\\$&')}"${extra}}`;
  const lines: string[] = [];
  const head = (name: string, type: 'gauge' | 'counter', help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number) => {
    head(name, type, help);
    lines.push(`${name}${label()} ${value}`);
  };
  head('strata_projector_partition_lag', 'gauge', 'Messages not yet applied and committed, per owned partition.');
  for (const { partition, lag } of snapshot.lag)
    lines.push(`strata_projector_partition_lag${label(`,partition="${partition}"`)} ${lag}`);
  metric('strata_projector_assigned_partitions', 'gauge', 'Partitions this process owns.', snapshot.assignedPartitions);
  metric(
    'strata_projector_applied_events_total',
    'counter',
    'Events this process applied to the views.',
    snapshot.appliedTotal,
  );
  metric(
    'strata_projector_duplicate_events_total',
    'counter',
    'Redelivered events that changed nothing.',
    snapshot.duplicatesTotal,
  );
  metric('strata_projector_apply_rate', 'gauge', 'Events per second applied over the last 10 s.', snapshot.applyRate);
  metric(
    'strata_projector_generation',
    'gauge',
    'Live view generation (-1 when none is live).',
    snapshot.generation ?? -1,
  );
  metric('strata_projector_rebuilds_total', 'counter', 'Rebuilds this process completed.', snapshot.rebuildsTotal);
  metric(
    'strata_projector_rebuild_in_progress',
    'gauge',
    '1 while this process rebuilds the views.',
    snapshot.rebuild ? 1 : 0,
  );
  metric(
    'strata_projector_rebuild_position',
    'gauge',
    'Log position the running rebuild reached.',
    snapshot.rebuild?.position ?? 0,
  );
  metric(
    'strata_projector_rebuild_head_position',
    'gauge',
    'Log head the running rebuild aims at.',
    snapshot.rebuild?.head ?? 0,
  );
  metric(
    'strata_projector_rebuild_events_per_second',
    'gauge',
    'Throughput of the running rebuild.',
    snapshot.rebuild?.eventsPerSecond ?? 0,
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
