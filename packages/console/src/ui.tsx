import { useId, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import { errorText } from './format.js';

/** Small shared pieces: labelled fields, tables, problem messages, status lines, a form's write. */

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

/** The reason every write records; required. */
export const ReasonField = ({
  value,
  onChange,
  error,
}: {
  value: string;
  onChange: (reason: string) => void;
  error?: string | null;
}) => (
  <Field label="Reason" error={error}>
    {(props) => <input {...props} required value={value} onChange={(e) => onChange(e.target.value)} />}
  </Field>
);

/**
 * A form's write: `run` starts one (`busy` until it settles) and keeps the position it was saved
 * at, or its problem; `then` gets the answer of a write that succeeded.
 */
export const useWrite = () => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const run = <A extends { position: number }>(write: Promise<A>, then?: (answer: A) => void) => {
    setBusy(true);
    setError(null);
    write
      .then((answer) => {
        setSaved(answer.position);
        then?.(answer);
      })
      .catch((e: unknown) => setError(e))
      .finally(() => setBusy(false));
  };
  return { busy, error, saved, run };
};

/** What became of a form's write (`useWrite`): its problem, or the position it was saved at. */
export const WriteOutcome = ({ write }: { write: { error: unknown; saved: number | null } }) => (
  <>
    <ErrorBox error={write.error} />
    {write.saved !== null && <StatusLine>Saved at position {write.saved}.</StatusLine>}
  </>
);

/** A write-only input (a token, a secret value): masked, never autofilled, required. */
export const SecretInput = ({
  onText,
  ...props
}: Omit<InputHTMLAttributes<HTMLInputElement>, 'type'> & { name: string; onText: (text: string) => void }) => (
  <input {...props} type="password" autoComplete="off" required onInput={(e) => onText(e.currentTarget.value)} />
);

/** A labelled select of plain string options, with an optional first option that means "none". */
export const SelectField = ({
  label,
  value,
  options,
  none,
  onChange,
}: {
  label: string;
  value: string;
  options: readonly string[];
  /** Text of an extra first option with the value ''. */
  none?: string;
  onChange: (value: string) => void;
}) => (
  <Field label={label}>
    {(props) => (
      <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
        {none !== undefined && <option value="">{none}</option>}
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    )}
  </Field>
);

/**
 * A table with one header row (`<th scope="col">`) and a row per item; `empty` fills a single row
 * when there are none. `label` names it for screen readers (and for tests, by role).
 */
export interface DataTableProps<Row> {
  label?: string;
  className?: string;
  columns: readonly string[];
  rows: readonly Row[];
  rowKey: (row: Row) => string | number;
  cells: (row: Row) => ReactNode[];
  empty?: string;
}

export const DataTable = <Row,>({
  label,
  className = 'data',
  columns,
  rows,
  rowKey,
  cells,
  empty,
}: DataTableProps<Row>) => (
  <table className={className || undefined} aria-label={label}>
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
    <tbody>
      {rows.length === 0 && empty !== undefined && (
        <tr>
          <td colSpan={columns.length}>{empty}</td>
        </tr>
      )}
      {rows.map((row) => (
        <tr key={rowKey(row)}>
          {cells(row).map((cell, i) => (
            <td key={columns[i] ?? i}>{cell}</td>
          ))}
        </tr>
      ))}
    </tbody>
  </table>
);
