/**
 * Everything the CLI writes goes through `Io`, so specs run the whole program against string
 * buffers and a fake server. Colour only on a TTY, and never with NO_COLOR (https://no-color.org).
 */

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** The HTTP transport; unit specs pass a fake server. */
  fetch?: typeof fetch;
  /** Asks a yes/no question on the terminal; only called when stdin and stderr are TTYs. */
  confirm?: (question: string) => Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

type Paint = (text: string) => string;

export interface Colors {
  enabled: boolean;
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;

export const colorsFor = (stream: OutStream, env: NodeJS.ProcessEnv): Colors => {
  const enabled =
    (stream.isTTY === true || (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0')) &&
    !('NO_COLOR' in env && env['NO_COLOR'] !== '') &&
    env['TERM'] !== 'dumb';
  if (!enabled) return { enabled, bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
};

const ansi = /\x1b\[[0-9;]*m/g;
export const stripAnsi = (text: string): string => text.replace(ansi, '');
export const visibleWidth = (text: string): number => [...stripAnsi(text)].length;

const truncate = (text: string, max: number): string => {
  if (visibleWidth(text) <= max) return text;
  const chars = [...stripAnsi(text)];
  return `${chars.slice(0, max - 1).join('')}…`;
};

/** Left-aligned columns separated by two spaces; cells wider than `maxCell` are cut with `…`. */
export const formatTable = (headers: string[], rows: string[][], colors: Colors, maxCell = 60): string => {
  const cells = rows.map((row) => row.map((cell) => truncate(cell.replace(/\s*\n\s*/g, ' '), maxCell)));
  const widths = headers.map((h, i) => Math.max(visibleWidth(h), ...cells.map((row) => visibleWidth(row[i] ?? ''))));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell))))
      .join('  ')
      .trimEnd();
  return [colors.bold(line(headers)), ...cells.map(line)].join('\n') + '\n';
};

/** A JSON value as one line of text: the form `set` accepts back. */
export const formatValue = (value: unknown): string => {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

/** `2026-05-01 12:03:04Z`: sortable, fits a table, and unambiguous. */
export const formatTime = (iso: string | undefined): string => {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
};

export const formatScope = (namespace?: string | null, env?: string | null, tenant?: string | null): string =>
  [namespace, env, tenant].filter((p) => p !== undefined && p !== null && p !== '').join('/') || 'system';

export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');
