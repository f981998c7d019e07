import type { HistoryEvent } from '@strata/contracts';
import { formatScope, formatValue } from './output.js';

/**
 * How events read in a table: the scope, the subject (key, flag, secret, token) and the change.
 * Shared by `history` and the `revert` plan so both speak the same language.
 */

type Data = Record<string, unknown>;

export const eventScope = (data: Data): string =>
  formatScope(
    data['namespace'] as string | undefined,
    data['environment'] as string | undefined,
    data['tenant'] as string | null | undefined,
  );

export const eventSubject = (type: string, data: Data): string => {
  switch (type) {
    case 'ConfigValueSet':
    case 'ConfigValueUnset':
      return String(data['key']);
    case 'FlagRolloutChanged':
    case 'FlagOverrideSet':
      return `flag ${String(data['flag'])}`;
    case 'SecretVersionAdded':
    case 'SecretDeleted':
      return `secret ${String(data['name'])}`;
    case 'TokenIssued':
    case 'TokenRevoked':
      return `token ${String(data['tokenId'])}`;
    case 'ManifestPublished':
      return 'manifest';
    case 'MasterKeyRotated':
      return 'master key';
    case 'TenantKeyShredded':
      return `tenant key ${String(data['keyId'])}`;
    default:
      return type;
  }
};

/** The state after the event, as short text; `undefined` when the event removes something. */
export const eventAfter = (type: string, data: Data): string | undefined => {
  switch (type) {
    case 'ConfigValueSet':
      return formatValue(data['value']);
    case 'ConfigValueUnset':
    case 'SecretDeleted':
      return undefined;
    case 'FlagRolloutChanged':
      return `${data['enabled'] ? 'on' : 'off'} ${String(data['rollout'])}%`;
    case 'FlagOverrideSet':
      if (data['override'] === null) return undefined;
      return typeof data['variant'] === 'string' ? `variant ${data['variant']}` : `forced ${String(data['override'])}`;
    case 'SecretVersionAdded':
      return `v${String(data['version'])}`;
    case 'TokenIssued':
      return `issued (${String(data['role'])})`;
    case 'TokenRevoked':
      return 'revoked';
    case 'ManifestPublished': {
      const m = (data['manifest'] ?? {}) as { keys?: object; flags?: object; secrets?: object };
      return `${Object.keys(m.keys ?? {}).length} keys, ${Object.keys(m.flags ?? {}).length} flags, ${Object.keys(m.secrets ?? {}).length} secrets`;
    }
    case 'MasterKeyRotated':
      return `${String(data['fromKeyId'])} → ${String(data['toKeyId'])}`;
    case 'TenantKeyShredded':
      return 'shredded';
    default:
      return undefined;
  }
};

/** Shown when the scan did not reach back far enough to know the earlier state. */
export const unknownBefore = '?';

/** What the same subject was before each event, from earlier events of the same scan. */
export class BeforeTracker {
  readonly #last = new Map<string, string | undefined>();

  /** `complete`: the scan started at the beginning of the log, so "not seen" means "absent". */
  constructor(private readonly complete = true) {}

  /** Returns the text before `event` (`undefined`: unknown or absent) and records its after. */
  see(event: Pick<HistoryEvent, 'type' | 'data'> & { before?: unknown }): string | undefined {
    const data = event.data as Data;
    const id = `${eventScope(data)}|${eventSubject(event.type, data)}`;
    const after = eventAfter(event.type, data);
    let before: string | undefined;
    // The API computes before/after of config changes from the whole stream; trust it over the scan.
    if (event.before !== undefined)
      before = event.before === null ? undefined : formatValue((event.before as { value: unknown }).value);
    else if (event.type === 'SecretVersionAdded' && Number(data['version']) > 1)
      before = `v${Number(data['version']) - 1}`;
    else if (event.type === 'SecretVersionAdded' || event.type === 'ManifestPublished' || event.type === 'TokenIssued')
      before = undefined;
    else before = this.#last.has(id) || this.complete ? this.#last.get(id) : unknownBefore;
    this.#last.set(id, after);
    return before;
  }
}

export const changeText = (before: string | undefined, after: string | undefined): string =>
  `${before ?? '∅'} → ${after ?? '∅'}`;
