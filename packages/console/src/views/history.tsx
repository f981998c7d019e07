import { useMemo, useState, type ReactNode } from 'react';
import { eventTypes } from '@strata/core';
import type { z } from 'zod';
import type { EventsQuery, HistoryEvent } from '@strata/contracts';
import { BarChart } from '../charts.js';
import { useModel, useNav, useSession } from '../model.js';
import { describeEvents } from '../describe.js';
import { localInputToIso } from '../format.js';
import { ErrorBox, Field, SelectField, StatusLine } from '../ui.js';

export interface Filters {
  key: string;
  tenant: string;
  actor: string;
  type: string;
  from: string;
  to: string;
}
const noFilters: Filters = { key: '', tenant: '', actor: '', type: '', from: '', to: '' };

/** The name an event is about: config key, flag or secret. */
const subjectOf = (e: HistoryEvent): string | undefined => {
  const d = e.data;
  for (const field of ['key', 'flag', 'name'] as const) if (typeof d[field] === 'string') return d[field];
  return undefined;
};

const matches = (e: HistoryEvent, f: Filters, env: string): boolean => {
  const d = e.data;
  if (typeof d['environment'] === 'string' && d['environment'] !== env) return false;
  if (f.key && subjectOf(e) !== f.key) return false;
  if (f.tenant && d['tenant'] !== f.tenant) return false;
  if (f.actor && e.actor !== f.actor) return false;
  if (f.type && e.type !== f.type) return false;
  const t = Date.parse(e.recordedAt);
  const from = localInputToIso(f.from);
  const to = localInputToIso(f.to);
  if (from && t < Date.parse(from)) return false;
  if (to && t >= Date.parse(to)) return false;
  return true;
};

const toQuery = (f: Filters, namespace: string, env: string): Partial<z.output<typeof EventsQuery>> => {
  const q: Partial<z.output<typeof EventsQuery>> = { namespace, env };
  if (f.key) q.key = f.key;
  if (f.tenant) q.tenant = f.tenant;
  if (f.actor) q.actor = f.actor;
  if (f.type) q.type = f.type;
  const from = localInputToIso(f.from);
  const to = localInputToIso(f.to);
  if (from) q.from = from;
  if (to) q.to = to;
  return q;
};

const hourOf = (ms: number) => new Date(ms).toISOString().slice(0, 13);

/** The audit timeline of the environment, newest first, following the log live. */
export const HistoryView = () => {
  const { client, can } = useSession();
  const model = useModel();
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [shown, setShown] = useState(100);
  const [exportError, setExportError] = useState<unknown>(null);
  const { namespace, env } = model.scope;

  const described = useMemo(() => describeEvents(model.events), [model.events]);
  const selected = useMemo(
    () => model.events.filter((e) => matches(e, filters, env)).reverse(),
    [model.events, filters, env],
  );
  const perHour = useMemo(() => {
    if (selected.length === 0) return [];
    const counts = new Map<string, number>();
    for (const e of selected)
      counts.set(hourOf(Date.parse(e.recordedAt)), (counts.get(hourOf(Date.parse(e.recordedAt))) ?? 0) + 1);
    const first = Date.parse(`${hourOf(Date.parse(selected.at(-1)!.recordedAt))}:00:00Z`);
    const last = Math.max(Date.parse(`${hourOf(Date.now())}:00:00Z`), first);
    const bars = [];
    for (let t = Math.max(first, last - 47 * 3_600_000); t <= last; t += 3_600_000) {
      const label = hourOf(t);
      bars.push({ label: `${label.slice(5).replace('T', ' ')}h`, value: counts.get(label) ?? 0 });
    }
    return bars;
  }, [selected]);

  const set = (field: keyof Filters) => (e: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: e.target.value });

  const exportNdjson = () => {
    setExportError(null);
    client
      .exportEvents(toQuery(filters, namespace, env))
      .then((stream) => new Response(stream).blob())
      .then((blob) => {
        const url = URL.createObjectURL(new Blob([blob], { type: 'application/x-ndjson' }));
        const a = document.createElement('a');
        a.href = url;
        a.download = `strata-history-${namespace}-${env}.ndjson`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      })
      .catch(setExportError);
  };

  return (
    <>
      <form
        className="filters"
        aria-label="History filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          setShown(100);
        }}
      >
        <Field label="Key, flag or secret">
          {(props) => <input {...props} value={draft.key} onChange={set('key')} spellCheck={false} />}
        </Field>
        <Field label="Tenant">
          {(props) => <input {...props} list="tenants" value={draft.tenant} onChange={set('tenant')} />}
        </Field>
        <Field label="Actor">{(props) => <input {...props} value={draft.actor} onChange={set('actor')} />}</Field>
        <SelectField
          label="Event type"
          value={draft.type}
          options={eventTypes}
          none="any"
          onChange={(type) => setDraft({ ...draft, type })}
        />
        <Field label="From (local time)">
          {(props) => <input {...props} type="datetime-local" step={1} value={draft.from} onChange={set('from')} />}
        </Field>
        <Field label="To (local time)">
          {(props) => <input {...props} type="datetime-local" step={1} value={draft.to} onChange={set('to')} />}
        </Field>
        <div className="buttons">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            onClick={() => {
              setDraft(noFilters);
              setFilters(noFilters);
            }}
          >
            Clear
          </button>
          <button type="button" onClick={exportNdjson}>
            Export NDJSON
          </button>
        </div>
      </form>
      <ErrorBox error={exportError ?? model.error} />
      <StatusLine>
        <span data-testid="event-count">{selected.length}</span> event(s)
        {model.live !== 'off' ? ', updating live' : ''}; newest first.
      </StatusLine>
      <BarChart title="Changes per hour (UTC)" bars={perHour} />
      <ol className="timeline" aria-label="Timeline" reversed>
        {selected.slice(0, shown).map((e) => (
          <li key={e.position} data-position={e.position} data-type={e.type}>
            <div className="event-head">
              <span className="position">#{e.position}</span>
              <time dateTime={e.recordedAt}>{e.recordedAt.replace('T', ' ').slice(0, 19)}Z</time>
              <span className="badge">{e.type}</span>
              {e.metadata.source === 'revert' && (
                <span className="badge revert">↺ revert to #{String(e.metadata.revertTo ?? '?')}</span>
              )}
            </div>
            <p className="change">{described.get(e.position)}</p>
            <p className="meta">
              by <strong>{e.actor}</strong>
              {e.metadata.reason ? <> — “{e.metadata.reason}”</> : <> — no reason given</>}
            </p>
            <div className="buttons">
              <JumpButton to="time-travel" before={e.position} label="Travel to just before">
                Travel to before
              </JumpButton>
              {can('revert') && (
                <JumpButton to="revert" before={e.position} label="Revert to just before">
                  Revert to before
                </JumpButton>
              )}
            </div>
          </li>
        ))}
      </ol>
      {selected.length > shown && (
        <button type="button" onClick={() => setShown(shown + 200)}>
          Show older events
        </button>
      )}
    </>
  );
};

/** Opens another section at the moment just before an event (History → Time travel / Revert). */
const JumpButton = ({
  to,
  before,
  label,
  children,
}: {
  to: string;
  before: number;
  label: string;
  children: ReactNode;
}) => {
  const nav = useNav();
  return (
    <button
      type="button"
      onClick={() => {
        nav.pick(before - 1);
        nav.go(to);
      }}
      aria-label={`${label} #${before}`}
    >
      {children}
    </button>
  );
};
