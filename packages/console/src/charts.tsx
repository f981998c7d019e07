/**
 * Two small charts drawn as SVG by hand: a step line (a flag's rollout over time) and bars
 * (changes per hour). A chart library would add far more code than these two shapes need; each
 * chart also carries a text table of its data for screen readers and for reading exact values.
 */

import type { ReactNode } from 'react';
import { DataTable, type DataTableProps } from './ui.js';

export interface Point {
  /** Milliseconds since the epoch. */
  t: number;
  y: number;
  label: string;
}

const W = 640;
const H = 180;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };

/** The frame both charts share: the SVG with its first and last x label, a caption, the data as a table. */
const Figure = <Row,>({
  title,
  from,
  to,
  children,
  ...table
}: { title: string; from: string; to: string; children: ReactNode } & DataTableProps<Row>) => (
  <figure className="chart">
    <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
      {children}
      <text className="axis" x={PAD.left} y={H - 8}>
        {from}
      </text>
      <text className="axis" x={W - PAD.right} y={H - 8} textAnchor="end">
        {to}
      </text>
    </svg>
    <figcaption>{title}</figcaption>
    <details>
      <summary>Data</summary>
      <DataTable className="" {...table} />
    </details>
  </figure>
);

const timeLabel = (t: number) => new Date(t).toISOString().slice(5, 16).replace('T', ' ');

export const StepChart = ({
  title,
  points,
  yMax,
  unit,
}: {
  title: string;
  points: Point[];
  yMax: number;
  unit: string;
}) => {
  if (points.length === 0) return <p className="hint">No data yet for “{title}”.</p>;
  const t0 = points[0]!.t;
  const t1 = Math.max(points.at(-1)!.t, Date.now());
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => PAD.left + ((t - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  let d = `M ${x(points[0]!.t)} ${y(points[0]!.y)}`;
  for (let i = 1; i < points.length; i++) d += ` H ${x(points[i]!.t)} V ${y(points[i]!.y)}`;
  d += ` H ${x(t1)}`;
  return (
    <Figure
      title={title}
      from={timeLabel(t0)}
      to={timeLabel(t1)}
      columns={['When', 'Value', 'Event']}
      rows={points}
      rowKey={(p) => `${p.t}-${p.label}`}
      cells={(p) => [new Date(p.t).toISOString(), `${p.y}${unit}`, p.label]}
    >
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(f * yMax)} y2={y(f * yMax)} />
          <text className="axis" x={PAD.left - 6} y={y(f * yMax) + 4} textAnchor="end">
            {Math.round(f * yMax)}
            {unit}
          </text>
        </g>
      ))}
      <path className="line" d={d} fill="none" />
      {points.map((p) => (
        <circle key={`${p.t}-${p.label}`} className="dot" cx={x(p.t)} cy={y(p.y)} r={4}>
          <title>{`${p.label}: ${p.y}${unit}`}</title>
        </circle>
      ))}
    </Figure>
  );
};

export const BarChart = ({ title, bars }: { title: string; bars: { label: string; value: number }[] }) => {
  if (bars.length === 0) return <p className="hint">No data yet for “{title}”.</p>;
  const max = Math.max(1, ...bars.map((b) => b.value));
  // At most 48 bars; a few bars stay narrow instead of filling the width.
  const slot = Math.min(48, (W - PAD.left - PAD.right) / bars.length);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return (
    <Figure
      title={title}
      from={bars[0]!.label}
      to={bars.at(-1)!.label}
      columns={['Hour (UTC)', 'Changes']}
      rows={bars}
      rowKey={(b) => b.label}
      cells={(b) => [b.label, b.value]}
    >
      <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(max)} y2={y(max)} />
      <text className="axis" x={PAD.left - 6} y={y(max) + 4} textAnchor="end">
        {max}
      </text>
      <text className="axis" x={PAD.left - 6} y={y(0) + 4} textAnchor="end">
        0
      </text>
      {bars.map((b, i) => (
        <rect
          key={b.label}
          className="bar"
          x={PAD.left + i * slot + slot * 0.1}
          width={slot * 0.8}
          y={y(b.value)}
          height={Math.max(0, y(0) - y(b.value))}
        >
          <title>{`${b.label}: ${b.value}`}</title>
        </rect>
      ))}
    </Figure>
  );
};
