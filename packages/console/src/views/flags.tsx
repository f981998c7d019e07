import { useMemo, useState, type FormEvent } from 'react';
import { bucket, definitionOf, evaluateFlag, whoFlips } from '@strata/core';
import type { PreviewAnswer } from '@strata/contracts';
import { StepChart } from '../charts.js';
import { useAnswer, useModel, useSession } from '../model.js';
import { shortTenant } from '../format.js';
import { DataTable, ErrorBox, Field, ReasonField, SelectField, useWrite, WriteOutcome } from '../ui.js';

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
 * with core's bucket rule on the folded state (the server's rule, bit for bit), the raw flagd
 * definition with a preview the server evaluates (POST …/flags/{flag}/preview), per-tenant
 * overrides, and the rollout over time.
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
      <SelectField label="Flag" value={flag} options={flags} onChange={setChosen} />
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
      <DataTable
        label={`Overrides of ${flag}`}
        columns={['Tenant', 'Override', 'Position']}
        rows={overrides}
        rowKey={(o) => o.tenant}
        empty="None."
        cells={(o) => [
          <code>{o.tenant}</code>,
          <span className={`badge ${o.override}`}>{o.override === 'enabled' ? '✓ forced on' : '✗ forced off'}</span>,
          o.position,
        ]}
      />
      {editable && <OverrideEditor flag={flag} />}
      {/* A new rule from anywhere reloads the editor with it. */}
      {editable && <DefinitionEditor key={entry?.position ?? 0} flag={flag} />}
      <details>
        <summary>Definition (raw JSON)</summary>
        <pre>
          {JSON.stringify(
            {
              manifest: definition ?? null,
              environment: entry ? definitionOf(entry) : null,
            },
            null,
            2,
          )}
        </pre>
      </details>
    </>
  );
};

/** The server's who-flips answer for a proposed definition, refreshed (debounced) as it changes. */
const usePreview = (flag: string, definition: unknown, tenants: 'seen' | string[]) => {
  const { client } = useSession();
  const { scope } = useModel();
  const { answer: preview, error } = useAnswer(
    definition === undefined ? null : () => client.previewFlag(scope, flag, { definition, tenants }),
    // The JSON stands for flag, definition and tenants by value.
    [client, scope, JSON.stringify([flag, definition, tenants])],
    { delayMs: 250 },
  );
  return { preview: definition === undefined ? null : preview, error };
};

/** A flag's value while it has no rule: the manifest default, false for a boolean flag without one. */
const fallbackOf = (state: ReturnType<typeof useModel>['state'], flag: string): unknown => {
  const declared = state.manifest?.flags[flag];
  return declared?.default ?? (declared?.type === 'boolean' || declared === undefined ? false : null);
};

const label = (side: { variant: string | null; value: unknown }) => side.variant ?? JSON.stringify(side.value);

const WhoFlips = ({
  preview,
  error,
  fallback,
}: {
  preview: PreviewAnswer | null;
  error: unknown;
  /** What a tenant gets while the flag has no rule (the manifest default): the server answers no value then. */
  fallback: unknown;
}) => {
  // The server lists every context whose variant changes; a flip is a change of value.
  const valueOf = (side: { value: unknown }) => JSON.stringify(side.value ?? fallback);
  const flips = preview?.flips.filter((f) => valueOf(f.from) !== valueOf(f.to)) ?? [];
  const on = flips.filter((f) => f.to.value === true).length;
  const off = flips.filter((f) => f.to.value === false).length;
  const renamed = (preview?.changed ?? 0) - flips.length;
  return (
    <div className="preview" role="status" aria-live="polite" data-testid="definition-who-flips">
      <ErrorBox error={error} />
      {!preview ? (
        <p>Computing who flips…</p>
      ) : (
        <>
          <p>
            <strong>Who flips:</strong> {flips.length} of {preview.evaluated} tenant(s) change — {on} turn on, {off}{' '}
            turn off{renamed > 0 ? `; ${renamed} keep their value under another variant name` : ''}.
          </p>
          {flips.length > 0 && (
            <ul className="flips">
              {flips.slice(0, 50).map((f, i) => (
                <li key={f.tenant ?? i}>
                  {f.to.value === true ? '▲ on ' : f.to.value === false ? '▼ off ' : '◆ '}
                  <code>{f.tenant ?? JSON.stringify(f.context)}</code>{' '}
                  <small>
                    ({label(f.from)} → {label(f.to)})
                  </small>
                </li>
              ))}
              {flips.length > 50 && <li>… and {flips.length - 50} more</li>}
            </ul>
          )}
        </>
      )}
    </div>
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
  const write = useWrite();

  // The slider previews in the browser with core's rule (instant, and what the server evaluates
  // for the {rollout, enabled} shorthand); definitions preview on the server (DefinitionEditor).
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
    write.run(client.setFlag(scope, flag, { rollout, enabled, reason: reason.trim() }), () => setReason(''));
  };

  return (
    <form className="panel" onSubmit={submit} aria-label={`Change the rollout of ${flag}`}>
      <h3>Change the rollout</h3>
      {/* One value, two controls: a slider to drag, a number to type (whole percent, 0 to 100). */}
      {(['range', 'number'] as const).map((type) => (
        <Field key={type} label={type === 'range' ? `Rollout: ${rollout}%` : 'Rollout (number)'}>
          {(props) => (
            <input
              {...props}
              type={type}
              min={0}
              max={100}
              step={1}
              value={rollout}
              aria-valuetext={`${rollout} percent`}
              onChange={(e) => setRollout(Math.max(0, Math.min(100, Math.round(Number(e.target.value) || 0))))}
            />
          )}
        </Field>
      ))}
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
      <ReasonField value={reason} onChange={setReason} />
      <WriteOutcome write={write} />
      <button type="submit" disabled={write.busy || unchanged || !reason.trim()}>
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
  const write = useWrite();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    write.run(
      client.setFlagOverride(
        { namespace: model.scope.namespace, env: model.scope.env, tenant },
        flag,
        override === 'clear' ? null : override,
        reason.trim(),
      ),
    );
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
      <ReasonField value={reason} onChange={setReason} />
      <WriteOutcome write={write} />
      <button type="submit" disabled={!tenant || !reason.trim()}>
        Save override {tenant ? `for ${shortTenant(tenant)}` : ''}
      </button>
    </form>
  );
};

const DefinitionEditor = ({ flag }: { flag: string }) => {
  const { client } = useSession();
  const { state, scope } = useModel();
  const entry = state.flags.get(flag);
  const [text, setText] = useState(() => JSON.stringify(entry ? definitionOf(entry) : null, null, 2));
  const [proposed, setProposed] = useState<unknown>(undefined);
  const [reason, setReason] = useState('');
  const write = useWrite();
  const { preview, error: previewError } = usePreview(flag, proposed, 'seen');
  let parsed: Record<string, unknown> | null = null;
  let parseError: string | null = null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) parsed = value as Record<string, unknown>;
    else parseError = 'a flagd definition is a JSON object: {"state", "variants", "defaultVariant", "targeting"}';
  } catch (e) {
    parseError = `not JSON: ${(e as Error).message}`;
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!parsed || !reason.trim()) return;
    write.run(client.setFlagDefinition(scope, flag, parsed, reason.trim()));
  };
  return (
    <form className="panel" onSubmit={submit} aria-label={`Definition of ${flag}`}>
      <h3>Definition and targeting (flagd JSON)</h3>
      <Field
        label="Definition"
        hint="flagd's format: state, variants, defaultVariant and targeting (JsonLogic; $ref to segments)."
        error={parseError}
      >
        {(props) => (
          <textarea {...props} rows={12} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
        )}
      </Field>
      <div className="buttons">
        <button type="button" disabled={!parsed} onClick={() => setProposed(parsed)}>
          Preview who flips
        </button>
      </div>
      {proposed !== undefined && <WhoFlips preview={preview} error={previewError} fallback={fallbackOf(state, flag)} />}
      <ReasonField value={reason} onChange={setReason} />
      <WriteOutcome write={write} />
      <button type="submit" disabled={!parsed || !reason.trim()}>
        Save definition
      </button>
    </form>
  );
};
