import type { StateChange } from '@strata/core';
import { formatValue, type Colors } from './output.js';

export type { StateChange };

const where = (tenant: string | null | undefined) => (tenant ? `tenants.${tenant}.` : '');

/** One line per change of a diff (`GET …/diff`): `+` added, `-` removed, `~` changed. */
export const describeStateChange = (change: StateChange, colors: Colors): string => {
  const mark = (before: unknown, after: unknown) =>
    before === null ? colors.green('+') : after === null ? colors.red('-') : colors.yellow('~');
  switch (change.kind) {
    case 'manifest':
      return `${mark(change.before, change.after)} manifest: ${change.before ? `position ${change.before.position}` : 'none'} → ${change.after ? `position ${change.after.position}` : 'none'}`;
    case 'config':
      return `${mark(change.before, change.after)} ${where(change.tenant)}config.${change.key}: ${change.before ? formatValue(change.before.value) : '∅'} → ${change.after ? formatValue(change.after.value) : '∅'}`;
    case 'flag': {
      const text = (f: typeof change.before) => (f ? `${f.enabled ? 'on' : 'off'} ${f.rollout}%` : '∅');
      return `${mark(change.before, change.after)} flags.${change.flag}: ${text(change.before)} → ${text(change.after)}`;
    }
    case 'override':
      return `${mark(change.before, change.after)} ${where(change.tenant)}flags.${change.flag}: ${overrideText(change.before)} → ${overrideText(change.after)}`;
    case 'secret': {
      const text = (s: typeof change.before) => (s ? (s.deleted ? `deleted (v${s.version})` : `v${s.version}`) : '∅');
      return `${mark(change.before, change.after)} ${where(change.tenant)}secrets.${change.name}: ${text(change.before)} → ${text(change.after)}`;
    }
    default:
      return formatValue(change);
  }
};

const overrideText = (o: { override: string; variant?: string } | null | undefined): string =>
  o ? (o.variant === undefined ? o.override : `variant ${o.variant}`) : 'no override';
