import { useState, type FormEvent } from 'react';
import type { z } from 'zod';
import type { RevertBody, RevertPlan } from '@strata/contracts';
import { useModel, useNav, useSession } from '../model.js';
import { describePlanned } from '../describe.js';
import { shortTenant } from '../format.js';
import { ErrorBox, Field, StatusLine } from '../ui.js';

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** Restores an earlier state by appending compensating events: preview (dry run) first, then confirm. */
export const RevertView = () => {
  const { client } = useSession();
  const model = useModel();
  const nav = useNav();
  const { namespace, env } = model.scope;
  const [position, setPosition] = useState(nav.picked === null ? '' : String(nav.picked));
  const [keys, setKeys] = useState('');
  const [tenants, setTenants] = useState('');
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<{ request: string; to: number; plan: RevertPlan } | null>(null);
  const [applied, setApplied] = useState<{ position: number; appended: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const request = (dryRun: boolean): z.input<typeof RevertBody> | null => {
    if (!/^\d+$/.test(position) || !reason.trim()) return null;
    const body: z.input<typeof RevertBody> = { to: { position: Number(position) }, dryRun, reason: reason.trim() };
    if (list(keys).length) body.keys = list(keys);
    if (list(tenants).length) body.tenants = list(tenants);
    return body;
  };
  const fingerprint = JSON.stringify(request(true));

  const run = (dryRun: boolean) => {
    const body = request(dryRun);
    if (!body) return;
    setBusy(true);
    setError(null);
    client
      .revert({ namespace, env }, body)
      .then((answer) => {
        if ('plan' in answer) {
          setPreview({ request: fingerprint, to: answer.to, plan: answer.plan });
          setApplied(null);
        } else {
          setApplied({ position: answer.position, appended: answer.appended });
          setPreview(null);
        }
      })
      .catch(setError)
      .finally(() => setBusy(false));
  };

  const streams = preview?.plan.streams ?? [];
  const planned = streams.flatMap((s) => s.events);
  const affected = [...new Set(planned.map((e) => (e.data['tenant'] ? String(e.data['tenant']) : 'environment-wide')))];
  const target = model.events.find((e) => e.position === Number(position));

  return (
    <>
      <form
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          run(true);
        }}
        aria-label="Revert"
        className="panel"
      >
        <Field
          label="Restore the state at log position"
          hint={target ? `#${target.position}: ${target.type} by ${target.actor}, ${target.recordedAt}` : undefined}
        >
          {(props) => (
            <input
              {...props}
              type="number"
              min={0}
              required
              value={position}
              onChange={(e) => setPosition(e.target.value)}
            />
          )}
        </Field>
        <Field label="Only these keys, flags or secrets (optional)" hint="Comma or space separated; empty: everything">
          {(props) => <input {...props} value={keys} onChange={(e) => setKeys(e.target.value)} spellCheck={false} />}
        </Field>
        <Field label="Only these tenants (optional)">
          {(props) => (
            <input {...props} value={tenants} onChange={(e) => setTenants(e.target.value)} spellCheck={false} />
          )}
        </Field>
        <Field label="Reason" hint="Required; recorded with every compensating event">
          {(props) => <input {...props} required value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy || request(true) === null}>
          Preview (dry run)
        </button>
      </form>
      <ErrorBox error={error} />
      {preview && (
        <section aria-labelledby="plan-title" className="panel" data-testid="revert-plan">
          <h3 id="plan-title">
            Dry run: {planned.length} compensating event(s) to restore position {preview.to}
          </h3>
          <p>
            Affected:{' '}
            {affected.length === 0
              ? 'nothing'
              : affected.map((t) => shortTenant(t === 'environment-wide' ? null : t)).join(', ')}
          </p>
          <ol>
            {streams.map((s) =>
              s.events.map((e, i) => (
                <li key={`${s.streamId}-${i}`}>
                  <code>{s.streamId}</code>: {describePlanned(e)}
                </li>
              )),
            )}
          </ol>
          {preview.plan.skipped.length > 0 && <p className="hint">Skipped: {JSON.stringify(preview.plan.skipped)}</p>}
          <button
            type="button"
            className="danger"
            disabled={busy || planned.length === 0 || preview.request !== fingerprint}
            onClick={() => run(false)}
          >
            Confirm revert ({planned.length} event(s))
          </button>
          {preview.request !== fingerprint && <p className="hint">The inputs changed: preview again first.</p>}
        </section>
      )}
      {applied && (
        <StatusLine>
          Reverted: {applied.appended} event(s) appended, up to position{' '}
          <strong data-testid="revert-position">{applied.position}</strong>. It is in the timeline and can itself be
          reverted.
        </StatusLine>
      )}
    </>
  );
};
