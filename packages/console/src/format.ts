/** Values, ages, tenants and errors as text; pure, so unit specs cover them. */

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const formatValue = (value: unknown): string =>
  value === undefined ? '—' : typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);

export const ageOf = (iso: string | undefined, now = Date.now()): string =>
  iso ? `${durationText(now - Date.parse(iso))} ago` : '—';

/** A duration in milliseconds, coarsely: `12s`, `5m`, `3h`, `2d`. */
export const durationText = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
};

export const shortTenant = (tenant: string | null | undefined): string =>
  tenant === null || tenant === undefined ? 'environment' : tenant.length > 13 ? `${tenant.slice(0, 8)}…` : tenant;

/** `datetime-local` input text ↔ ISO 8601 (the input has no zone: it is the browser's local time). */
export const localInputToIso = (text: string): string | null => {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};
