/** Values, ages, tenants and errors as text; pure, so unit specs cover them. */

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const formatValue = (value: unknown): string =>
  value === undefined ? '—' : typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);

export const ageOf = (iso: string | undefined, now = Date.now()): string => {
  if (!iso) return '—';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
};

export const shortTenant = (tenant: string | null | undefined): string =>
  tenant === null || tenant === undefined ? 'environment' : tenant.length > 13 ? `${tenant.slice(0, 8)}…` : tenant;

/** `datetime-local` input text ↔ ISO 8601 (the input has no zone: it is the browser's local time). */
export const localInputToIso = (text: string): string | null => {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
};
