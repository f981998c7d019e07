import { useState, type FormEvent } from 'react';
import { keySchema, validateValue } from '@strata/core';
import type { Scope } from '@strata/contracts';
import { apiScope, useModel, useScopeAnswer, useSession } from '../model.js';
import { ageOf, formatValue, shortTenant } from '../format.js';
import { ErrorBox, Field, ReasonField, StatusLine, useWrite } from '../ui.js';

/** A tenant's (or the environment's) resolved config, and edits with the manifest's validation. */
export const ConfigView = () => {
  const { can } = useSession();
  const model = useModel();
  const { namespace, env, tenant } = model.scope;
  const scope = apiScope(model.scope);
  const [editing, setEditing] = useState<string | null>(null);
  const [written, setWritten] = useState<{ key: string; position: number; shown: boolean } | null>(null);
  const [minPosition, setMinPosition] = useState(0);
  const { answer: config, error } = useScopeAnswer(
    (client, at) => client.resolvedConfig(at, minPosition > 0 ? { minPosition } : {}),
    [minPosition],
    { onAnswer: (answer) => setWritten((w) => (w && answer.position >= w.position ? { ...w, shown: true } : w)) },
  );

  const editable = can('config:write');
  const keys = Object.keys(config?.values ?? {}).sort();
  for (const key of Object.keys(model.state.manifest?.keys ?? {})) if (!keys.includes(key)) keys.push(key);

  return (
    <>
      <p>
        Resolved for <strong>{tenant ? `tenant ${tenant}` : 'the environment layer'}</strong> in {namespace}/{env}
        {config ? ` at position ${config.position}` : ''}. Layers: tenant → environment → manifest default.
      </p>
      <ErrorBox error={error} />
      {written && (
        <StatusLine>
          Saved {written.key} at position <strong data-testid="written-position">{written.position}</strong>
          {written.shown ? ' — shown below (read with ?minPosition).' : ' — waiting for the views to reach it…'}
        </StatusLine>
      )}
      <table className="data" aria-label="Resolved config">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">Source layer</th>
            <th scope="col">Position</th>
            <th scope="col">Age</th>
            {editable && <th scope="col">Edit</th>}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const v = config?.values[key];
            const description = keySchema(model.state.manifest, key)?.['description'];
            return (
              <tr key={key} data-key={key}>
                <th scope="row">
                  <code>{key}</code>
                  {typeof description === 'string' && <small className="hint block">{description}</small>}
                </th>
                <td>
                  <code data-testid={`value-${key}`}>{formatValue(v?.value)}</code>
                </td>
                <td>
                  <span className={`badge source-${v?.source ?? 'none'}`}>{v?.source ?? 'unset'}</span>
                </td>
                <td>{v?.position ?? '—'}</td>
                <td>{v ? ageOf(model.recordedAtOf(v.position)) : '—'}</td>
                {editable && (
                  <td>
                    {editing === key ? (
                      <EditForm
                        scope={scope}
                        configKey={key}
                        current={v?.value}
                        ownLayer={v?.source === (scope.tenant ? 'tenant' : 'environment')}
                        onDone={(position) => {
                          setEditing(null);
                          if (position !== null) {
                            setWritten({ key, position, shown: false });
                            setMinPosition(position);
                          }
                        }}
                      />
                    ) : (
                      <button type="button" onClick={() => setEditing(key)} aria-label={`Edit ${key}`}>
                        Edit
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
};

const EditForm = ({
  scope,
  configKey,
  current,
  ownLayer,
  onDone,
}: {
  scope: Scope;
  configKey: string;
  current: unknown;
  /** The value is set in the layer being edited, so it can be unset there. */
  ownLayer: boolean;
  onDone: (position: number | null) => void;
}) => {
  const { client } = useSession();
  const { state } = useModel();
  const [text, setText] = useState(current === undefined ? '' : JSON.stringify(current));
  const [reason, setReason] = useState('');
  const write = useWrite();

  let parsed: unknown;
  let valueError: string | null = null;
  try {
    parsed = JSON.parse(text);
    const check = state.manifest ? validateValue(state.manifest, configKey, parsed) : { ok: true as const };
    if (!check.ok) valueError = check.error.message;
  } catch {
    valueError = 'not JSON: write numbers as 1000, text as "quoted"';
  }
  const reasonError = reason.trim() === '' ? 'a reason is required' : null;

  const save = (answer: Promise<{ position: number }>) => write.run(answer, (written) => onDone(written.position));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (valueError || reasonError) return;
    save(client.setValue(scope, configKey, parsed, reason.trim()));
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Edit ${configKey}`}>
      <Field
        label={`New value (${scope.tenant ? `tenant ${shortTenant(scope.tenant)}` : 'environment'})`}
        error={text === '' ? null : valueError}
      >
        {(props) => <input {...props} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />}
      </Field>
      <ReasonField value={reason} onChange={setReason} error={reason === '' ? null : reasonError} />
      <ErrorBox error={write.error} />
      <div className="buttons">
        <button type="submit" disabled={write.busy || valueError !== null || reasonError !== null}>
          Save
        </button>
        {ownLayer && (
          <button
            type="button"
            disabled={write.busy || reasonError !== null}
            onClick={() => save(client.unsetValue(scope, configKey, reason.trim()))}
          >
            Unset here
          </button>
        )}
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
};
