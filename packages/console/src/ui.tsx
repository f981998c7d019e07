import { useId, type ReactNode } from 'react';
import { errorText } from './format.js';

/** Small shared pieces: labelled fields, problem messages, status lines. */

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
