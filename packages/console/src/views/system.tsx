import { useCallback, useEffect, useState } from 'react';
import type { ChainVerification, ProjectionStatus } from '@strata/contracts';
import { useModel, useSession } from '../model.js';
import { ageOf, durationText, errorText } from '../format.js';
import { DataTable, ErrorBox, Field, StatusLine } from '../ui.js';

type PartitionLag = ProjectionStatus['partitions'][number];

/** In words and an icon, never by colour alone: stale beats behind, since a stale lag is only the last one known. */
const lagBadge = (p: PartitionLag) =>
  p.stale ? (
    <span className="badge warn">⚠ stale: no report for {durationText(p.ageMs)}</span>
  ) : p.lag > 0 ? (
    <span className="badge warn">⚠ behind by {p.lag}</span>
  ) : (
    <span className="badge">✓ caught up</span>
  );

/** The projector group's lag per Kafka partition, as each partition's owner last reported it. */
const PartitionLagTable = ({ partitions }: { partitions: PartitionLag[] }) => {
  const total = partitions.reduce((sum, p) => sum + p.lag, 0);
  const stale = partitions.filter((p) => p.stale).length;
  return (
    <div className="panel">
      <h3>Projector lag per partition</h3>
      <p className="hint" data-testid="partition-lag-summary">
        {partitions.length === 0
          ? 'No projector has reported its lag yet.'
          : `${total} event(s) behind in total across ${partitions.length} partition(s)` +
            (stale > 0 ? `; ${stale} not reported recently (projector stopped, hung or cut off from Kafka)` : '')}
      </p>
      {partitions.length > 0 && (
        <DataTable
          label="Projector lag per partition"
          columns={['Partition', 'Committed offset', 'End offset', 'Lag', 'Reported by', 'Updated', 'State']}
          rows={partitions}
          rowKey={(p) => p.partition}
          cells={(p) => [
            p.partition,
            p.committed,
            p.highWatermark,
            p.lag,
            <code>{p.instance}</code>,
            <time dateTime={p.updatedAt} title={p.updatedAt}>
              {durationText(p.ageMs)} ago
            </time>,
            lagBadge(p),
          ]}
        />
      )}
    </div>
  );
};

/**
 * Relay checkpoint against the log head, projector lag per partition, the projection's generation
 * and rebuild, and the hash chain.
 */
export const SystemView = () => {
  const { client, can } = useSession();
  const model = useModel();
  const [status, setStatus] = useState<ProjectionStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [verification, setVerification] = useState<ChainVerification | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [reason, setReason] = useState('');
  const [rebuildError, setRebuildError] = useState<string | null>(null);

  const load = useCallback(() => {
    if (!can('projections')) return Promise.resolve();
    return client
      .projectionStatus()
      .then((s) => (setStatus(s), setError(null)))
      .catch(setError);
  }, [client, can]);

  // While a rebuild runs, its progress is polled; otherwise the status follows the log.
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), status?.rebuilding ? 500 : 3000);
    return () => clearInterval(timer);
  }, [load, status?.rebuilding, model.changeCount]);

  const verify = () => {
    setVerifying(true);
    client
      .verify()
      .then(setVerification)
      .catch(setError)
      .finally(() => setVerifying(false));
  };

  const rebuild = () => {
    setRebuildError(null);
    client
      .rebuildProjections(reason.trim())
      .then(() => load())
      .catch((e: unknown) => setRebuildError(errorText(e)));
  };

  const progress = status?.rebuilding?.progress;
  return (
    <>
      <ErrorBox error={error} />
      {can('projections') && status && (
        <>
          <dl className="facts" aria-label="Pipeline">
            <dt>Log head</dt>
            <dd data-testid="log-head">{status.head}</dd>
            {status.checkpoints.map((c) => (
              <div key={c.name} className="fact">
                <dt>Checkpoint {c.name}</dt>
                <dd>
                  {c.position} — {c.lag === 0 ? '✓ caught up' : `${c.lag} behind the head`} (saved {ageOf(c.updatedAt)})
                </dd>
              </div>
            ))}
            <dt>Projection generation</dt>
            <dd data-testid="generation">{status.generation ?? 'none'}</dd>
            <dt>Needs rebuild</dt>
            <dd>{status.needsRebuild ? '⚠ yes' : 'no'}</dd>
            <dt>Views at (this environment)</dt>
            <dd>
              {model.head ? `last change #${model.head}` : '—'}
              {status.lag !== null ? `, rebuild lag ${status.lag}` : ''}
            </dd>
            <dt>Last rebuild</dt>
            <dd data-testid="last-rebuild">
              {status.last
                ? 'error' in status.last
                  ? `✗ failed: ${String(status.last['error'])}`
                  : `✓ finished ${status.last.finishedAt}${status.last['position'] !== undefined ? ` at position ${String(status.last['position'])}` : ''}`
                : 'none since the API started'}
            </dd>
          </dl>
          <PartitionLagTable partitions={status.partitions} />
          <div className="panel">
            <h3>Rebuild the views</h3>
            <p className="hint">
              Replays the whole log into a new generation of the Redis views, then switches readers to it.
            </p>
            <Field label="Reason">
              {(props) => <input {...props} value={reason} onChange={(e) => setReason(e.target.value)} />}
            </Field>
            <button type="button" onClick={rebuild} disabled={status.rebuilding !== null || !reason.trim()}>
              Rebuild projections
            </button>
            <ErrorBox error={rebuildError} />
            {status.rebuilding && (
              <div role="status" aria-live="polite">
                <label htmlFor="rebuild-progress">
                  Rebuilding: {progress ? `${progress.position} of ${progress.head}` : 'starting…'}
                </label>{' '}
                <progress id="rebuild-progress" max={1} value={status.progress ?? 0}>
                  {Math.round((status.progress ?? 0) * 100)}%
                </progress>
              </div>
            )}
          </div>
        </>
      )}
      {can('history:verify') && (
        <div className="panel">
          <h3>Hash chain</h3>
          <button type="button" onClick={verify} disabled={verifying}>
            {verifying ? 'Verifying…' : 'Verify the hash chain'}
          </button>
          {verification && (
            <StatusLine>
              <span data-testid="chain-result">
                {verification.ok
                  ? `✓ Intact: ${verification.checked} events checked`
                  : `✗ TAMPERED: first bad position ${verification.firstBadPosition}`}
              </span>
            </StatusLine>
          )}
        </div>
      )}
    </>
  );
};
