import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One line of the side-by-side table: our number, the peer's, and how we compare. */
export interface BenchRow {
  benchmark: string;
  metric: string;
  ours: string;
  peer: string;
  peerName: string;
  /** ours ÷ peer for rates, peer ÷ ours for latencies, so > 1 always means "Strata is better". */
  ratio: number | null;
  target?: string;
}

const rows: BenchRow[] = [];

export const record = (row: BenchRow): void => {
  rows.push(row);
  const ratio = row.ratio === null ? '—' : `${row.ratio.toFixed(2)}×`;
  process.stdout.write(
    `  ${row.metric.padEnd(40)} ours ${row.ours.padStart(12)}   ${row.peerName.padEnd(28)} ${row.peer.padStart(12)}   ${ratio}\n`,
  );
};

export const machine = (): string =>
  `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;

/**
 * Writes the table as Markdown so the README can quote the latest run verbatim. Rows of benchmarks
 * this run did not measure are kept from the previous file (a subset run updates only its rows).
 */
export const writeMarkdown = (file: string): void => {
  const measured = new Set(rows.map((r) => r.benchmark));
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  const kept = previous.filter((line) => {
    const benchmark = /^\| ([a-z-]+) \|/.exec(line)?.[1];
    return benchmark !== undefined && benchmark !== 'benchmark' && !measured.has(benchmark);
  });
  const lines = [
    `Run on ${new Date().toISOString().slice(0, 10)}, ${machine()}. Ratio > 1 means Strata is better.` +
      (kept.length > 0 ? ` Rows of ${[...measured].join(', ')} from this run, the others from the previous one.` : ''),
    '',
    '| benchmark | metric | Strata | peer | peer value | ratio | target |',
    '|---|---|---|---|---|---|---|',
    ...kept,
    ...rows.map(
      (r) =>
        `| ${r.benchmark} | ${r.metric} | ${r.ours} | ${r.peerName} | ${r.peer} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ${r.target ?? ''} |`,
    ),
  ];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
};
