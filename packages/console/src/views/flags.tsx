import { useMemo, useState, type FormEvent } from 'react';
import { bucket, evaluateFlag, whoFlips } from '@strata/core';
import { StepChart } from '../charts.js';
import { useModel, useSession } from '../model.js';
import { errorText, shortTenant } from '../format.js';
import { ErrorBox, Field, StatusLine } from '../ui.js';

const parseTenants = (text: string): string[] => [
  ...new Set(
    text
      .split(/[\s,]+/)
      .map((t) => t.trim())
      .filter(Boolean),
  ),
];

/**
 * Flags of the environment: the rollout slider with a who-flips preview computed in the browser
 * with core's bucket rule on the folded state (the server's rule, bit for bit), per-tenant
 * overrides, and the rollout's history as a chart.
 */
export const FlagsView = () => {
  const { can } = useSession();
  const model = useModel();
  const { state } = model;
  const flags = [...new Set([...Object.keys(state.manifest?.flags ?? {}), ...state.flags.keys()])].sort();
  const [chosen, setChosen] = useState<string>('');
  const flag = chosen || flags[0] || '';

  if (!can('history:read'))
    return (
      <p className="hint">
        This role cannot read the history, which the flag view folds to show rollouts and overrides. Evaluate a flag for
        a tenant with the API or the CLI.
      </p>
    );
  if (flags.length === 0) return <p className="hint">No flags in this namespace yet.</p>;
  return (
    <>
      <Field label="Flag">
        {(props) => (
          <select {...props} value={flag} onChange={(e) => setChosen(e.target.value)}>
            {flags.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        )}
      </Field>
      <FlagDetail key={flag} flag={flag} />
    </>
  );
};

const FlagDetail = ({ flag }: { flag: string }) => {
  const { can } = useSession();
  const model = useModel();
  const { state, events } = model;
  const entry = state.flags.get(flag);
  const definition = state.manifest?.flags[flag];
  const editable = can('config:write');

  const points = useMemo(
    () =>
      events
        .filter(
          (e) =>
            e.type === 'FlagRolloutChanged' && e.data['flag'] === flag && e.data['environment'] === model.scope.env,
        )
        .map((e) => ({
          t: Date.parse(e.recordedAt),
          y: e.data['enabled'] === false ? 0 : Number(e.data['rollout']),
          label: `#${e.position} ${e.data['enabled'] === false ? 'killed' : `${String(e.data['rollout'])}%`}${e.metadata.reason ? ` — ${e.metadata.reason}` : ''}`,
        })),
    [events, flag, model.scope.env],
  );

  const overrides = [...state.overrides]
    .flatMap(([tenant, byFlag]) => {
      const o = byFlag.get(flag);
      return o ? [{ tenant, ...o }] : [];
    })
    .sort((a, b) => a.tenant.localeCompare(b.tenant));

  return (
    <>
      <dl className="facts">
        <dt>Rollout</dt>
        <dd data-testid="current-rollout">{entry ? `${entry.rollout}%` : 'never set (manifest default)'}</dd>
        <dt>Kill switch</dt>
        <dd>{entry ? (entry.enabled ? 'on (serving)' : 'off (disabled for everyone without an override)') : '—'}</dd>
        <dt>Last change</dt>
        <dd>{entry ? `position ${entry.position}, ${entry.changedAt}` : '—'}</dd>
        <dt>Overrides</dt>
        <dd>{overrides.length}</dd>
      </dl>
      <StepChart title={`Rollout of ${flag} over time (%)`} points={points} yMax={100} unit="%" />
      {editable && <RolloutEditor flag={flag} />}
      <h3>Per-tenant overrides</h3>
      <table className="data" aria-label={`Overrides of ${flag}`}>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Override</th>
            <th scope="col">Position</th>
          </tr>
        </thead>
        <tbody>
          {overrides.length === 0 && (
            <tr>
              <td colSpan={3}>None.</td>
            </tr>
          )}
          {overrides.map((o) => (
            <tr key={o.tenant}>
              <td>
                <code>{o.tenant}</code>
              </td>
              <td>
                <span className={`badge ${o.override}`}>
                  {o.override === 'enabled' ? '✓ forced on' : '✗ forced off'}
                </span>
              </td>
              <td>{o.position}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {editable && <OverrideEditor flag={flag} />}
      <details>
        <summary>Definition (raw JSON)</summary>
        <pre>
          {JSON.stringify(
            {
              manifest: definition ?? null,
              environment: entry
                ? { rollout: entry.rollout, enabled: entry.enabled, variants: entry.variants ?? null }
                : null,
            },
            null,
            2,
          )}
        </pre>
      </details>
    </>
  );
};

const RolloutEditor = ({ flag }: { flag: string }) => {
  const { client } = useSession();
  const model = useModel();
  const { state, scope } = model;
  const entry = state.flags.get(flag);
  const [rollout, setRollout] = useState(entry?.rollout ?? 0);
  const [enabled, setEnabled] = useState(entry?.enabled ?? true);
  const [tenantText, setTenantText] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<number | null>(null);

  const tenants = tenantText.trim() ? parseTenants(tenantText) : model.tenants;
  const flips = useMemo(
    () => whoFlips(state, flag, tenants, rollout, enabled),
    [state, flag, tenants, rollout, enabled],
  );
  const on = flips.filter((f) => f.after);
  const off = flips.filter((f) => !f.after);
  const enabledNow = tenants.filter((t) => evaluateFlag(state, flag, t).enabled).length;
  const unchanged = entry !== undefined && entry.rollout === rollout && entry.enabled === enabled;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!reason.trim()) return;
    setBusy(true);
    setError(null);
    client
      .setFlag(scope, flag, { rollout, enabled, reason: reason.trim() })
      .then((answer) => {
        setSaved(answer.position);
        setReason('');
      })
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };

  return (
    <form className="panel" onSubmit={submit} aria-label={`Change the rollout of ${flag}`}>
      <h3>Change the rollout</h3>
      <Field label={`Rollout: ${rollout}%`}>
        {(props) => (
          <input
            {...props}
            type="range"
            min={0}
            max={100}
            step={1}
            value={rollout}
            aria-valuetext={`${rollout} percent`}
            onChange={(e) => setRollout(Number(e.target.value))}
          />
        )}
      </Field>
      <Field label="Rollout (number)">
        {(props) => (
          <input
            {...props}
            type="number"
            min={0}
            max={100}
            value={rollout}
            onChange={(e) => setRollout(Math.max(0, Math.min(100, Math.round(Number(e.target.value) || 0))))}
          />
        )}
      </Field>
      <div className="field checkbox">
        <input id="kill-switch" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <label htmlFor="kill-switch">Serving (kill switch on)</label>
      </div>
      <Field
        label="Tenants to preview"
        hint={`One per line or comma separated. Empty: the ${model.tenants.length} tenants seen in this environment's history.`}
      >
        {(props) => (
          <textarea
            {...props}
            rows={3}
            spellCheck={false}
            value={tenantText}
            onChange={(e) => setTenantText(e.target.value)}
          />
        )}
      </Field>
      <div className="preview" role="status" aria-live="polite" data-testid="who-flips">
        <p>
          <strong>Who flips:</strong> {flips.length} of {tenants.length} tenant(s) change — {on.length} turn on,{' '}
          {off.length} turn off; {enabledNow} enabled now, {enabledNow + on.length - off.length} after saving.
        </p>
        {flips.length > 0 && (
          <ul className="flips">
            {flips.slice(0, 50).map((f) => (
              <li key={f.tenant}>
                {f.after ? '▲ on ' : '▼ off '}
                <code>{f.tenant}</code> <small>(bucket {bucket(f.tenant, flag)})</small>
              </li>
            ))}
            {flips.length > 50 && <li>… and {flips.length - 50} more</li>}
          </ul>
        )}
      </div>
      <Field label="Reason" error={null}>
        {(props) => <input {...props} required value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <ErrorBox error={error} />
      {saved !== null && <StatusLine>Saved at position {saved}.</StatusLine>}
      <button type="submit" disabled={busy || unchanged || !reason.trim()}>
        Save rollout {rollout}%
      </button>
    </form>
  );
};

const OverrideEditor = ({ flag }: { flag: string }) => {
  const { client } = useSession();
  const model = useModel();
  const [tenant, setTenant] = useState(model.scope.tenant);
  const [override, setOverride] = useState<'enabled' | 'disabled' | 'clear'>('enabled');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    client
      .setFlagOverride(
        { namespace: model.scope.namespace, env: model.scope.env, tenant },
        flag,
        override === 'clear' ? null : override,
        reason.trim(),
      )
      .then((answer) => setSaved(answer.position))
      .catch((e: unknown) => setError(errorText(e)));
  };
  return (
    <form className="panel" onSubmit={submit} aria-label={`Override ${flag} for one tenant`}>
      <h3>Override for one tenant</h3>
      <Field label="Tenant">
        {(props) => (
          <input {...props} list="tenants" required value={tenant} onChange={(e) => setTenant(e.target.value.trim())} />
        )}
      </Field>
      <Field label="Override">
        {(props) => (
          <select {...props} value={override} onChange={(e) => setOverride(e.target.value as typeof override)}>
            <option value="enabled">Force on</option>
            <option value="disabled">Force off</option>
            <option value="clear">Clear (follow the rollout)</option>
          </select>
        )}
      </Field>
      <Field label="Reason">
        {(props) => <input {...props} required value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      <ErrorBox error={error} />
      {saved !== null && <StatusLine>Saved at position {saved}.</StatusLine>}
      <button type="submit" disabled={!tenant || !reason.trim()}>
        Save override {tenant ? `for ${shortTenant(tenant)}` : ''}
      </button>
    </form>
  );
};
