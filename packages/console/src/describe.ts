import type { StateChange } from '@strata/core';
import type { HistoryEvent, PlannedEvent } from '@strata/contracts';
import { formatValue, shortTenant } from './format.js';

/** Events, diffs and revert plans as text; pure, so unit specs cover them. */

/** "before → after" of every event, from the events before it (the log holds only the after). */
export const describeEvents = (events: readonly HistoryEvent[]): Map<number, string> => {
  const flags = new Map<string, string>();
  const overrides = new Map<string, string>();
  const text = new Map<number, string>();
  for (const e of events) {
    const d = e.data;
    const env = String(d['environment'] ?? '');
    const who = d['tenant'] ? ` for ${shortTenant(String(d['tenant']))}` : ' (environment)';
    switch (e.type) {
      case 'ConfigValueSet':
        text.set(
          e.position,
          `${String(d['key'])}${who}: ${e.before ? formatValue(e.before.value) : 'unset'} → ${formatValue(d['value'])}`,
        );
        break;
      case 'ConfigValueUnset':
        text.set(e.position, `${String(d['key'])}${who}: ${e.before ? formatValue(e.before.value) : 'unset'} → unset`);
        break;
      case 'FlagRolloutChanged': {
        const id = `${env}/${String(d['flag'])}`;
        const now = `${String(d['rollout'])}%${d['enabled'] === false ? ' (killed)' : ''}`;
        text.set(e.position, `${String(d['flag'])}: ${flags.get(id) ?? 'unset'} → ${now}`);
        flags.set(id, now);
        break;
      }
      case 'FlagOverrideSet': {
        const id = `${env}/${String(d['tenant'])}/${String(d['flag'])}`;
        const now = d['override'] === null ? 'cleared' : `forced ${d['override'] === 'enabled' ? 'on' : 'off'}`;
        text.set(e.position, `${String(d['flag'])}${who}: ${overrides.get(id) ?? 'none'} → ${now}`);
        overrides.set(id, now);
        break;
      }
      case 'SecretVersionAdded':
        text.set(
          e.position,
          `${String(d['name'])}${who}: version ${Number(d['version']) - 1 || 'none'} → ${String(d['version'])}`,
        );
        break;
      case 'SecretDeleted':
        text.set(e.position, `${String(d['name'])}${who}: deleted`);
        break;
      case 'ManifestPublished': {
        const m = d['manifest'] as { keys?: object; flags?: object; secrets?: object } | undefined;
        text.set(
          e.position,
          `manifest of ${String(d['namespace'])}: ${Object.keys(m?.keys ?? {}).length} keys, ${Object.keys(m?.flags ?? {}).length} flags, ${Object.keys(m?.secrets ?? {}).length} secrets`,
        );
        break;
      }
      case 'TokenIssued':
        text.set(
          e.position,
          `token ${String(d['tokenId'])} issued: role ${String(d['role'])}, scope ${[d['namespace'], d['environment'], d['tenant']].map((v) => (typeof v === 'string' ? shortTenant(v) : '*')).join('/')}`,
        );
        break;
      case 'TokenRevoked':
        text.set(e.position, `token ${String(d['tokenId'])} revoked`);
        break;
      default:
        text.set(e.position, JSON.stringify(d));
    }
  }
  return text;
};

export const describeChange = (c: StateChange): string => {
  const v = (x: { value: unknown } | null) => (x ? formatValue(x.value) : 'unset');
  switch (c.kind) {
    case 'config':
      return `${c.key} (${shortTenant(c.tenant)}): ${v(c.before)} → ${v(c.after)}`;
    case 'flag': {
      const f = (x: { rollout: number; enabled: boolean } | null) =>
        x ? `${x.rollout}%${x.enabled ? '' : ' killed'}` : 'unset';
      return `flag ${c.flag}: ${f(c.before)} → ${f(c.after)}`;
    }
    case 'override':
      return `override of ${c.flag} for ${shortTenant(c.tenant)}: ${c.before?.override ?? 'none'} → ${c.after?.override ?? 'none'}`;
    case 'secret':
      return `secret ${c.name} (${shortTenant(c.tenant)}): ${c.before ? `v${c.before.version}` : 'none'} → ${c.after ? `v${c.after.version}${c.after.deleted ? ' deleted' : ''}` : 'none'}`;
    case 'segment':
      return `segment ${c.segment}: ${c.before ? 'defined' : 'none'} → ${c.after ? JSON.stringify(c.after.logic) : 'deleted'}`;
    case 'manifest':
      return `manifest: position ${c.before?.position ?? 'none'} → ${c.after?.position ?? 'none'}`;
  }
};

export const describePlanned = (e: PlannedEvent): string => {
  const d = e.data;
  const who = d['tenant'] ? ` for ${shortTenant(String(d['tenant']))}` : '';
  switch (e.type) {
    case 'ConfigValueSet':
      return `set ${String(d['key'])}${who} to ${formatValue(d['value'])}`;
    case 'ConfigValueUnset':
      return `unset ${String(d['key'])}${who}`;
    case 'FlagRolloutChanged':
      return `set flag ${String(d['flag'])} to ${String(d['rollout'])}%${d['enabled'] === false ? ' (killed)' : ''}`;
    case 'FlagOverrideSet':
      return `override ${String(d['flag'])}${who}: ${d['override'] === null ? 'clear' : String(d['override'])}`;
    case 'SecretVersionAdded':
      return `restore secret ${String(d['name'])}${who} as version ${String(d['version'])}`;
    case 'SecretDeleted':
      return `delete secret ${String(d['name'])}${who}`;
    default:
      return e.type;
  }
};
