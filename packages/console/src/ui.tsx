import { useId, type ReactNode } from 'react';
import { ApiError } from './api.js';

/** Small shared pieces: labelled fields, problem messages, ages and values as text. */

export const errorText = (error: unknown): string =>
  error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);

export const Field = ({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: string;
  error?: string | null;
  children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) => {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const described = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        ...(described ? { 'aria-describedby': described } : {}),
        ...(error ? { 'aria-invalid': true } : {}),
      })}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={errorId} className="field-error" role="alert">
          ⚠ {error}
        </small>
      )}
    </div>
  );
};

/** An error answer, announced to screen readers; text and an icon, not only colour. */
export const ErrorBox = ({ error }: { error: unknown }) =>
  error ? (
    <p className="error" role="alert">
      <span aria-hidden="true">⚠ </span>
      {errorText(error)}
    </p>
  ) : null;

export const StatusLine = ({ children }: { children: ReactNode }) => (
  <p className="status" role="status" aria-live="polite">
    {children}
  </p>
);

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
