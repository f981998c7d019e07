export type MetricLabels = Record<string, string | number>;

/** One metric family: a single `value`, or `samples` that differ by labels (none: HELP and TYPE only). */
export type MetricFamily = { name: string; type: 'gauge' | 'counter'; help: string } & (
  { value: number } | { samples: { labels: MetricLabels; value: number }[] }
);

const labelSet = (labels: MetricLabels): string => {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${String(value).replace(/["\\]/g, '\\$&')}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
};

/** Prometheus text exposition format 0.0.4; `labels` go first on every sample. */
export const renderPrometheusText = (families: readonly MetricFamily[], labels: MetricLabels = {}): string => {
  const lines: string[] = [];
  for (const family of families) {
    const { name, type, help } = family;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const samples = 'samples' in family ? family.samples : [{ labels: {}, value: family.value }];
    for (const sample of samples) lines.push(`${name}${labelSet({ ...labels, ...sample.labels })} ${sample.value}`);
  }
  return `${lines.join('\n')}\n`;
};

/** A gauge with one sample. */
export const gauge = (name: string, help: string, value: number): MetricFamily => ({
  name,
  type: 'gauge',
  help,
  value,
});

/** A counter with one sample. */
export const counter = (name: string, help: string, value: number): MetricFamily => ({
  name,
  type: 'counter',
  help,
  value,
});
