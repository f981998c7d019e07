import { end, parse, pattern } from 'iso8601-duration';
import type { NamespaceEnvState } from './scope-state.js';

/**
 * Rotation cadence of secrets: a manifest secret may declare `rotateEvery` (an ISO 8601 duration,
 * `P90D`); its current version is due that long after it was added.
 */

const wholeDuration = new RegExp(`^${pattern.source}$`);

/** The duration's end after `from`, or undefined when `text` is not a positive ISO 8601 duration. */
export const addIsoDuration = (text: string, from: Date): Date | undefined => {
  // The library's pattern is unanchored and accepts a bare "P"; a cadence must say how long.
  if (!wholeDuration.test(text) || !/\d/.test(text)) return undefined;
  const until = end(parse(text), from);
  return until.getTime() > from.getTime() ? until : undefined;
};

/** Why `rotateEvery` is not acceptable, or undefined when it is. */
export const rotateEveryProblem = (value: unknown): string | undefined =>
  typeof value === 'string' && addIsoDuration(value, new Date(0)) !== undefined
    ? undefined
    : `rotateEvery must be a positive ISO 8601 duration such as "P90D", got ${JSON.stringify(value)}`;

export interface DueSecret {
  namespace: string;
  environment: string;
  /** null: the environment's secret. */
  tenant: string | null;
  name: string;
  version: number;
  rotateEvery: string;
  /** When the current version was added (recorded in the log). */
  addedAt: string;
  ageSeconds: number;
  dueAt: string;
  /** Past its due date; otherwise due within the asked window. */
  overdue: boolean;
}

/**
 * The live secrets of a scope whose current version is overdue, or due before `soonUntil`, oldest
 * due first. Deleted secrets and secrets without `rotateEvery` are never due.
 */
export const dueSecrets = (state: NamespaceEnvState, now: Date, soonUntil: Date = now): DueSecret[] => {
  const declared = state.manifest?.secrets ?? {};
  const due: DueSecret[] = [];
  for (const [tenant, names] of state.secrets) {
    for (const [name, entry] of names) {
      const rotateEvery = Object.hasOwn(declared, name) ? declared[name]?.rotateEvery : undefined;
      const current = entry.versions.at(-1);
      if (entry.deleted || !current || rotateEvery === undefined) continue;
      const dueAt = addIsoDuration(rotateEvery, new Date(current.addedAt));
      if (!dueAt || dueAt > soonUntil) continue;
      due.push({
        namespace: state.namespace,
        environment: state.environment,
        tenant,
        name,
        version: current.version,
        rotateEvery,
        addedAt: current.addedAt,
        ageSeconds: Math.floor((now.getTime() - Date.parse(current.addedAt)) / 1000),
        dueAt: dueAt.toISOString(),
        overdue: dueAt <= now,
      });
    }
  }
  return due.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.name.localeCompare(b.name));
};
