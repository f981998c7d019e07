import { currentSecretVersion, jsonEqual, streamIds, tenantsSeen, type NamespaceEnvState } from '@strata/core';
import {
  flagSpecOf,
  isDefinition,
  isRef,
  overrideSpecOf,
  type ConfigDocument,
  type FlagSpec,
  type OverrideSpec,
  type TenantSection,
  type ValueRef,
} from './config-document.js';
import { formatValue, type Colors } from './output.js';

/**
 * `plan`: what `apply` would change to make the store match a document, each change with the
 * stream it writes to; secrets are drift `apply` refuses to fix.
 */

export type Change =
  | { kind: 'set'; tenant: string | null; key: string; before: unknown; after: unknown }
  | { kind: 'unset'; tenant: string | null; key: string; before: unknown }
  | { kind: 'flag'; flag: string; before: FlagSpec | null; after: FlagSpec }
  | { kind: 'segment'; segment: string; before: unknown; after: unknown }
  | { kind: 'override'; tenant: string; flag: string; before: OverrideSpec | null; after: OverrideSpec | null }
  /** Drift that `apply` cannot fix: a secret version or a secret-marked value changed in the store. */
  | { kind: 'secret'; tenant: string | null; name: string; file: string; store: string };

export type PlannedChange = Change & {
  /** The stream the write goes to, and the version it must still have (`If-Match`). */
  streamId: string;
};

export interface Plan {
  namespace: string;
  environment: string;
  /** The store position the plan was computed against. */
  position: number;
  changes: PlannedChange[];
}

export const planChanges = (doc: ConfigDocument, state: NamespaceEnvState): Plan => {
  const changes: PlannedChange[] = [];
  const { namespace, environment } = state;
  const layerChanges = (desired: TenantSection | ConfigDocument, tenant: string | null) => {
    const streamId = streamIds.scope(namespace, environment, tenant);
    const want = desired.config ?? {};
    const have = (tenant === null ? state.environmentValues : state.tenantValues.get(tenant)) ?? new Map();
    for (const key of [...new Set([...Object.keys(want), ...have.keys()])].sort()) {
      const current = have.get(key);
      if (!Object.hasOwn(want, key)) {
        changes.push({ kind: 'unset', tenant, key, before: current?.value, streamId });
        continue;
      }
      const value = want[key];
      if (isRef(value)) {
        const position = (value as unknown as ValueRef).position;
        if (current?.position !== position) {
          changes.push({
            kind: 'secret',
            tenant,
            name: key,
            file: `value of position ${position}`,
            store: current ? `value of position ${current.position}` : 'no value',
            streamId,
          });
        }
      } else if (!current || !jsonEqual(current.value, value)) {
        changes.push({ kind: 'set', tenant, key, before: current?.value, after: value, streamId });
      }
    }
    for (const [name, ref] of Object.entries(desired.secrets ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const current = currentSecretVersion(state, tenant, name)?.version;
      if (current !== ref.version) {
        changes.push({
          kind: 'secret',
          tenant,
          name,
          file: `version ${ref.version}`,
          store: current !== undefined ? `version ${current}` : 'no secret',
          streamId,
        });
      }
    }
  };
  layerChanges(doc, null);
  // Segments before flags: a definition's `$ref` must name a segment that exists when it is written.
  const environmentStream = streamIds.environment(namespace, environment);
  for (const [segment, logic] of Object.entries(doc.segments ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const current = state.segments.get(segment);
    if (!current || !jsonEqual(current.logic, logic))
      changes.push({ kind: 'segment', segment, before: current?.logic, after: logic, streamId: environmentStream });
  }
  for (const [flag, spec] of Object.entries(doc.flags ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const entry = state.flags.get(flag);
    const current = entry ? flagSpecOf(entry) : null;
    if (current === null || !jsonEqual(current, spec))
      changes.push({ kind: 'flag', flag, before: current, after: spec, streamId: environmentStream });
  }
  const tenants = new Set([...Object.keys(doc.tenants ?? {}), ...tenantsSeen(state)]);
  for (const tenant of [...tenants].sort()) {
    const desired = doc.tenants?.[tenant] ?? {};
    layerChanges(desired, tenant);
    const want = desired.flags ?? {};
    const have = state.overrides.get(tenant) ?? new Map();
    for (const flag of [...new Set([...Object.keys(want), ...have.keys()])].sort()) {
      const entry = have.get(flag);
      const before = entry ? overrideSpecOf(entry) : null;
      const after = want[flag] ?? null;
      if (!jsonEqual(before, after))
        changes.push({
          kind: 'override',
          tenant,
          flag,
          before,
          after,
          streamId: streamIds.tenant(namespace, environment, tenant),
        });
    }
  }
  return { namespace, environment, position: state.position, changes };
};

/**
 * A shorthand losing its weighted variants: a write that omits them keeps them, so apply sends
 * `variants: null` for this change.
 */
export const dropsVariants = (c: Change): boolean =>
  c.kind === 'flag' &&
  c.before !== null &&
  !isDefinition(c.before) &&
  c.before.variants !== undefined &&
  !isDefinition(c.after) &&
  c.after.variants === undefined;

/** Changes `apply` cannot make (secrets change with `strata secrets`): apply refuses the whole file while there are any. */
export const unappliable = (plan: Plan): PlannedChange[] => plan.changes.filter((c) => c.kind === 'secret');

const where = (tenant: string | null) => (tenant === null ? '' : `tenants.${tenant}.`);

export const describeChange = (change: Change, colors: Colors): string => {
  switch (change.kind) {
    case 'set':
      return change.before === undefined
        ? `${colors.green('+')} ${where(change.tenant)}config.${change.key} = ${formatValue(change.after)}`
        : `${colors.yellow('~')} ${where(change.tenant)}config.${change.key}: ${formatValue(change.before)} → ${formatValue(change.after)}`;
    case 'unset':
      return `${colors.red('-')} ${where(change.tenant)}config.${change.key} (was ${formatValue(change.before)})`;
    case 'flag':
      return `${colors.yellow('~')} flags.${change.flag}: ${change.before ? flagText(change.before) : 'unset'} → ${flagText(change.after)}${dropsVariants(change) ? ', variants removed' : ''}`;
    case 'segment':
      return change.before === undefined
        ? `${colors.green('+')} segments.${change.segment} = ${formatValue(change.after)}`
        : `${colors.yellow('~')} segments.${change.segment}: ${formatValue(change.before)} → ${formatValue(change.after)}`;
    case 'override':
      return `${change.after === null ? colors.red('-') : colors.yellow('~')} ${where(change.tenant)}flags.${change.flag}: ${overrideText(change.before)} → ${overrideText(change.after)}`;
    case 'secret':
      return `${colors.red('!')} ${where(change.tenant)}${change.name}: file has ${change.file}, store has ${change.store} (secrets change with strata secrets, not apply)`;
  }
};

const flagText = (f: FlagSpec) =>
  isDefinition(f)
    ? `definition ${f.state === 'ENABLED' ? 'on' : 'off'}, variants ${Object.keys(f.variants).join('/')}${f.defaultVariant ? `, default ${f.defaultVariant}` : ''}${f.targeting === undefined ? '' : ', targeted'}`
    : `${f.enabled ? 'on' : 'off'} ${f.rollout}%${f.variants ? ` over ${f.variants.length} variants` : ''}`;

const overrideText = (o: OverrideSpec | null) =>
  o === null ? 'no override' : typeof o === 'string' ? o : `variant ${o.variant}`;

export const formatPlan = (plan: Plan, colors: Colors): string => {
  const head = `${plan.namespace}/${plan.environment} at position ${plan.position}`;
  if (plan.changes.length === 0) return `${head}: no changes; the store matches the file\n`;
  const lines = plan.changes.map((c) => `  ${describeChange(c, colors)}`);
  return `${head}: ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n${lines.join('\n')}\n`;
};
