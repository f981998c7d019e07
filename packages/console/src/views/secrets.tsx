import { useState, type FormEvent } from 'react';
import { addIsoDuration } from '@strata/core';
import type { Scope } from '@strata/contracts';
import { apiScope, useModel, useScopeAnswer, useSession } from '../model.js';
import { ageOf, errorText } from '../format.js';
import { ErrorBox, Field, ReasonField, SecretInput, StatusLine } from '../ui.js';

/**
 * Secret names, versions and ages — never values. Plaintext is fetched only when a secret reader
 * presses Reveal (the API records that read in its access log first) and is dropped on Hide.
 */
export const SecretsView = () => {
  const { can } = useSession();
  const model = useModel();
  const { namespace, env, tenant } = model.scope;
  const scope = apiScope(model.scope);
  const [refresh, setRefresh] = useState(0);
  const { answer: list, error } = useScopeAnswer((client, at) => client.listSecrets(at), [refresh]);

  const declared = Object.keys(model.state.manifest?.secrets ?? {});
  const now = Date.now();
  return (
    <>
      <p>
        Secrets of <strong>{tenant ? `tenant ${tenant}` : 'the environment'}</strong> in {namespace}/{env}
        {tenant ? ' (its own, then the environment’s)' : ''}. Values are encrypted; this list never holds them.
      </p>
      <ErrorBox error={error} />
      <table className="data" aria-label="Secrets">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scope</th>
            <th scope="col">Versions</th>
            <th scope="col">Current version added</th>
            <th scope="col">Rotation</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {list?.secrets.length === 0 && (
            <tr>
              <td colSpan={6}>
                No secret stored here yet{declared.length ? ` (declared: ${declared.join(', ')})` : ''}.
              </td>
            </tr>
          )}
          {list?.secrets.map((s) => {
            const latest = s.versions.at(-1);
            // The manifest's cadence (an ISO 8601 duration) from when the current version was added.
            const rotateEvery = model.state.manifest?.secrets[s.name]?.rotateEvery;
            const due =
              latest && rotateEvery ? (addIsoDuration(rotateEvery, new Date(latest.addedAt))?.getTime() ?? null) : null;
            return (
              <tr key={`${s.tenant ?? ''}/${s.name}`}>
                <th scope="row">
                  <code>{s.name}</code>
                  {s.deleted && <span className="badge warn"> deleted</span>}
                </th>
                <td>{s.tenant ? <code>{s.tenant}</code> : 'environment'}</td>
                <td>{s.versions.map((v) => `v${v.version}`).join(', ')}</td>
                <td>
                  {latest ? `v${latest.version}, ${ageOf(latest.addedAt, now)} (position ${latest.position})` : '—'}
                </td>
                <td>
                  {due === null ? (
                    'no policy'
                  ) : due < now ? (
                    <span className="badge warn">
                      ⚠ overdue since {new Date(due).toISOString().slice(0, 16).replace('T', ' ')} (every {rotateEvery})
                    </span>
                  ) : (
                    <span className="badge">
                      due {new Date(due).toISOString().slice(0, 16).replace('T', ' ')} (every {rotateEvery})
                    </span>
                  )}
                </td>
                <td>
                  {can('secret:read') && !s.deleted && <Reveal scope={{ ...scope, tenant: s.tenant }} name={s.name} />}
                  {can('secret:write') && (
                    <Rotate
                      scope={{ ...scope, tenant: s.tenant }}
                      name={s.name}
                      onDone={() => setRefresh((r) => r + 1)}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
};

const Reveal = ({ scope, name }: { scope: Scope; name: string }) => {
  const { client } = useSession();
  const [value, setValue] = useState<{ value: string; version: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (value)
    return (
      <div className="reveal">
        <output aria-label={`Value of ${name}`} data-testid="revealed">
          {value.value}
        </output>{' '}
        <small>v{value.version} · this read is in the access log</small>{' '}
        <button type="button" onClick={() => setValue(null)}>
          Hide
        </button>
      </div>
    );
  return (
    <>
      <button
        type="button"
        onClick={() => {
          setError(null);
          client
            .getSecret(scope, name)
            .then((answer) => setValue({ value: answer.value, version: answer.version }))
            .catch((e: unknown) => setError(errorText(e)));
        }}
      >
        Reveal {name}
      </button>
      <ErrorBox error={error} />
    </>
  );
};

const Rotate = ({ scope, name, onDone }: { scope: Scope; name: string; onDone: () => void }) => {
  const { client } = useSession();
  const [open, setOpen] = useState(false);
  // The new value stays in the input only (uncontrolled): React would mirror a controlled value
  // into the `value` attribute, putting the plaintext into the page's markup.
  const [filled, setFilled] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  if (!open)
    return (
      <>
        <button type="button" onClick={() => setOpen(true)}>
          Rotate {name}
        </button>
        {saved && <StatusLine>{saved}</StatusLine>}
      </>
    );
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const value = String(new FormData(form).get('value') ?? '');
    client
      .setSecret(scope, name, { value, reason: reason.trim() })
      .then((answer) => {
        form.reset();
        setOpen(false);
        setSaved(`Rotated: version ${String(answer['secretVersion'] ?? '?')} at position ${answer.position}.`);
        onDone();
      })
      .catch((e: unknown) => setError(errorText(e)));
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Rotate ${name}`}>
      <Field label="New value">
        {(props) => <SecretInput {...props} name="value" onText={(text) => setFilled(text !== '')} />}
      </Field>
      <ReasonField value={reason} onChange={setReason} />
      <ErrorBox error={error} />
      <div className="buttons">
        <button type="submit" disabled={!filled || !reason.trim()}>
          Save new version
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
};
