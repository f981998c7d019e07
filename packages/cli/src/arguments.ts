import { InvalidArgumentError } from 'commander';

/**
 * Parsers for argument values. They throw commander's InvalidArgumentError so a bad value is a
 * usage error (exit 2) with commander's "option '--x' argument 'y' is invalid" wording.
 */

/** `set` values: JSON when the text parses as JSON (`42`, `true`, `{"a":1}`, `"quoted"`), else the text itself. */
export const parseValue = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

export const parseNonNegativeInt = (text: string): number => {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a non-negative integer');
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('too large');
  return n;
};

export const parsePositiveInt = (text: string): number => {
  const n = parseNonNegativeInt(text);
  if (n === 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

export const parseRollout = (text: string): number => {
  const n = Number(text.endsWith('%') ? text.slice(0, -1) : text);
  if (!Number.isInteger(n) || n < 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage, an integer from 0 to 100');
  return n;
};

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90s`, `15m`, `2h`, `7d`, `1w` → seconds. */
export const parseDurationSeconds = (text: string): number => {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('expected a duration like 30s, 15m, 2h, 7d');
  return Number(match[1]) * (units[match[2] as string] ?? 1);
};

/** A point in the log: a position, or a time (RFC 3339; or `2h` meaning two hours ago). */
export type PointInTime = { position: number } | { at: string };

export const parsePointInTime = (text: string, now: () => number = Date.now): PointInTime => {
  const t = text.trim();
  if (/^\d+$/.test(t)) return { position: parseNonNegativeInt(t) };
  const relative = /^(\d+)([smhdw])(?:\s*ago)?$/.exec(t);
  if (relative)
    return { at: new Date(now() - parseDurationSeconds(`${relative[1]}${relative[2]}`) * 1000).toISOString() };
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(t)) {
    // A date or a time without zone is read as UTC: audits compare logs across time zones.
    const withZone = /([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.test(t) ? `${t}Z` : t;
    const d = new Date(withZone.replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return { at: d.toISOString() };
  }
  throw new InvalidArgumentError('expected a log position (integer), an RFC 3339 time, or a duration ago like 2h');
};

export const pointQuery = (point: PointInTime): { at?: string; position?: number } =>
  'position' in point ? { position: point.position } : { at: point.at };

export const describePoint = (point: PointInTime): string =>
  'position' in point ? `position ${point.position}` : point.at;

/** Tenant ids from a file: one per line; blank lines and `#` comments ignored; or a JSON array. */
export const parseTenantList = (text: string): string[] => {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string'))
      throw new Error('expected a JSON array of tenant ids');
    return [...new Set(parsed as string[])];
  }
  const tenants = trimmed
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(/[\s,]/)[0] as string);
  return [...new Set(tenants)];
};
