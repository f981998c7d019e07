import { Fragment, useEffect, useState, type FormEvent } from 'react';
import type { DiffAnswer, FlagAnswer, ReadOptions, ResolvedAnswer } from '@strata/contracts';
import { useModel, useNav, useSession } from '../model.js';
import { describeChange } from '../describe.js';
import { formatValue, localInputToIso } from '../format.js';
import { ErrorBox, Field } from '../ui.js';

interface MomentInput {
  mode: 'position' | 'time';
  position: string;
  time: string;
}

const readAtOf = (m: MomentInput): ReadOptions | null => {
  if (m.mode === 'position') return /^\d+$/.test(m.position) ? { position: Number(m.position) } : null;
  const at = localInputToIso(m.time);
  return at ? { at } : null;
};

const modes = [
  { mode: 'position', text: 'By position' },
  { mode: 'time', text: 'By time' },
] as const;

const MomentPicker = ({
  label,
  value,
  onChange,
}: {
  label: string;
  value: MomentInput;
  onChange: (m: MomentInput) => void;
}) => {
  const byPosition = value.mode === 'position';
  return (
    <fieldset className="moment">
      <legend>{label}</legend>
      <div className="field checkbox">
        {modes.map(({ mode, text }) => (
          <Fragment key={mode}>
            <input
              type="radio"
              id={`${label}-by-${mode}`}
              name={`${label}-mode`}
              checked={value.mode === mode}
              onChange={() => onChange({ ...value, mode })}
            />
            <label htmlFor={`${label}-by-${mode}`}>{text}</label>
          </Fragment>
        ))}
      </div>
      <Field label={`${label}: ${byPosition ? 'log position' : 'time (local)'}`}>
        {(props) => (
          <input
            {...props}
            {...(byPosition ? { type: 'number', min: 0 } : { type: 'datetime-local', step: 1 })}
            value={byPosition ? value.position : value.time}
            onChange={(e) => onChange({ ...value, [value.mode]: e.target.value })}
          />
        )}
      </Field>
    </fieldset>
  );
};

interface Snapshot {
  config: ResolvedAnswer;
  flags: Record<string, FlagAnswer>;
}

/**
 * The whole resolved config at any past moment (read from the log by the API), and two moments
 * side by side with the API's diff between them.
 */
export const TimeTravelView = () => {
  const { client } = useSession();
  const model = useModel();
  const nav = useNav();
  const { namespace, env, tenant } = model.scope;
  const [a, setA] = useState<MomentInput>({ mode: 'position', position: String(nav.picked ?? model.head), time: '' });
  const [b, setB] = useState<MomentInput>({ mode: 'position', position: String(model.head), time: '' });
  const [compare, setCompare] = useState(nav.picked !== null);
  const [result, setResult] = useState<{ a: Snapshot; b: Snapshot | null; diff: DiffAnswer | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (b.position === '0' && model.head > 0) setB((m) => ({ ...m, position: String(model.head) }));
  }, [model.head, b.position]);

  const flags = Object.keys(model.state.manifest?.flags ?? {});
  const snapshot = async (at: ReadOptions): Promise<Snapshot> => {
    const scope = { namespace, env, tenant: tenant || null };
    const config = await client.resolvedConfig(scope, at);
    const answers: Record<string, FlagAnswer> = {};
    if (tenant)
      for (const flag of flags) answers[flag] = await client.evaluateFlag({ namespace, env, tenant }, flag, at);
    return { config, flags: answers };
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const atA = readAtOf(a);
    const atB = compare ? readAtOf(b) : null;
    if (!atA || (compare && !atB)) {
      setError(new Error('pick a position (a whole number) or a time for each moment'));
      return;
    }
    setBusy(true);
    setError(null);
    const moment = (at: ReadOptions) => ('position' in at ? at.position! : at.at!);
    Promise.all([
      snapshot(atA),
      atB ? snapshot(atB) : Promise.resolve(null),
      atB ? client.diff({ namespace, env }, { from: moment(atA), to: moment(atB) }) : Promise.resolve(null),
    ])
      .then(([sa, sb, diff]) => setResult({ a: sa, b: sb, diff }))
      .catch(setError)
      .finally(() => setBusy(false));
  };

  const keys = [
    ...new Set([...Object.keys(result?.a.config.values ?? {}), ...Object.keys(result?.b?.config.values ?? {})]),
  ].sort();
  const differs = (x: unknown, y: unknown) => JSON.stringify(x) !== JSON.stringify(y);

  return (
    <>
      <p>
        Config of <strong>{tenant ? `tenant ${tenant}` : 'the environment layer'}</strong> as it was at a moment of the
        log{tenant ? ', with its flags' : ''}. Pick a moment here or press “Travel to before” on the timeline.
      </p>
      <form onSubmit={submit} aria-label="Pick moments" className="moments">
        <MomentPicker label="Moment A" value={a} onChange={setA} />
        <div className="field checkbox">
          <input id="compare" type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} />
          <label htmlFor="compare">Compare with a second moment</label>
        </div>
        {compare && <MomentPicker label="Moment B" value={b} onChange={setB} />}
        <button type="submit" disabled={busy}>
          {compare ? 'Show both and diff' : 'Show config then'}
        </button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <>
          <table className="data" aria-label="Config at the chosen moments">
            <thead>
              <tr>
                <th scope="col">Key or flag</th>
                <th scope="col">A (position {result.a.config.position})</th>
                {result.b && <th scope="col">B (position {result.b.config.position})</th>}
                {result.b && <th scope="col">Changed</th>}
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => {
                const va = result.a.config.values[key];
                const vb = result.b?.config.values[key];
                const changed = result.b !== null && differs(va?.value, vb?.value);
                return (
                  <tr key={key} className={changed ? 'changed' : undefined} data-key={key}>
                    <th scope="row">
                      <code>{key}</code>
                    </th>
                    <td>
                      <code>{formatValue(va?.value)}</code> <small>{va?.source}</small>
                    </td>
                    {result.b && (
                      <td>
                        <code>{formatValue(vb?.value)}</code> <small>{vb?.source}</small>
                      </td>
                    )}
                    {result.b && <td>{changed ? '≠ changed' : '= same'}</td>}
                  </tr>
                );
              })}
              {Object.keys(result.a.flags).map((flag) => {
                const fa = result.a.flags[flag]!;
                const fb = result.b?.flags[flag];
                const changed = fb !== undefined && fa.enabled !== fb.enabled;
                const text = (f: FlagAnswer) => `${f.enabled ? 'on' : 'off'} (${f.reason})`;
                return (
                  <tr key={`flag:${flag}`} className={changed ? 'changed' : undefined} data-flag={flag}>
                    <th scope="row">
                      flag <code>{flag}</code>
                    </th>
                    <td>{text(fa)}</td>
                    {result.b && <td>{fb ? text(fb) : '—'}</td>}
                    {result.b && <td>{changed ? '≠ changed' : '= same'}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {result.diff && (
            <section aria-labelledby="diff-title">
              <h3 id="diff-title">
                Diff of the environment, position {result.diff.from} → {result.diff.to}: {result.diff.changes.length}{' '}
                change(s)
              </h3>
              <ul className="diff" data-testid="diff">
                {result.diff.changes.map((c, i) => (
                  <li key={i}>{describeChange(c)}</li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </>
  );
};
