import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Command } from 'commander';
import { scopePath, type ApiError, type WriteAnswer } from '@strata/contracts';
import { isApiError } from '../api-client.js';
import { CliError, exitCodes, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { loadManifest } from '../environment-state.js';
import { FernetError, parseFernetKey, type FernetKey } from '../fernet.js';
import { formatValue } from '../output.js';
import {
  planTenantConfigImport,
  type ImportChange,
  type ImportPlan,
  type LegacyRow,
  type RowProblem,
} from '../tenant-configs.js';

/** Recorded as the reason of every event an import appends. */
export const importReason = 'import:tenant_configs';

interface ImportOptions {
  source: string;
  fernetKey: string;
  envFile?: string;
  dryRun?: boolean;
  skipUnmapped?: boolean;
}

interface ImportAnswer extends WriteAnswer {
  appended: number;
  replayed: boolean;
  dryRun: boolean;
  changed: Record<string, number>;
  unchanged: Record<string, number>;
}

/** `strata import …`: moving in from other systems. */
export const registerImportCommands = (program: Command, ctx: CommandContext): void => {
  const imports = program.command('import').summary("import config from another system (the seed's tenant_configs)");

  imports
    .command('tenant-configs')
    .summary("import the seed's tenant_configs table (and its .env) in one atomic write")
    .description(
      `Reads tenant_configs (tenant_id uuid, key text, value text) from --source and maps each row against the namespace's manifest: feature.<flag>.rollout_pct on the all-zero tenant → the flag's rollout; feature.<flag>.override → the tenant's override; secret.<name> → the tenant's secret <name>, decrypted with --fernet-key; any other key → the tenant's value, coerced as the seed's _coerce does. --env-file maps pydantic variables (A__B=v → a.b) to environment values. Every refused row is listed and nothing is written (exit ${exitCodes.refused}); otherwise everything is written in one transaction, with reason "${importReason}". Unchanged data is skipped, so a second run writes nothing.`,
    )
    .requiredOption('--source <url>', 'PostgreSQL URL of the legacy database')
    .requiredOption('--fernet-key <key>', 'the Fernet key the secret rows were encrypted with')
    .option('--env-file <file>', "the service's .env file: its variables become environment values")
    .option('--dry-run', 'print the plan (counts per kind and a sample); write nothing')
    .option('--skip-unmapped', 'leave out rows the manifest has no place for, instead of refusing the import')
    .action(async (opts: ImportOptions) => {
      let fernetKey: FernetKey;
      try {
        fernetKey = parseFernetKey(opts.fernetKey);
      } catch (error) {
        if (error instanceof FernetError) throw usageError(`--fernet-key: ${error.message}`);
        throw error;
      }
      const namespace = ctx.namespace;
      const env = ctx.env;
      const environment = opts.envFile === undefined ? undefined : readEnvFile(opts.envFile);
      const rows = await readLegacyRows(opts.source);
      const manifest = await loadManifest(await ctx.api(), namespace);
      if (!manifest)
        throw new CliError(`${namespace} has no manifest yet: publish one first (strata manifest publish)`);
      const plan = planTenantConfigImport({
        rows,
        manifest,
        fernetKey,
        ...(environment ? { environment } : {}),
        skipUnmapped: opts.skipUnmapped === true,
      });

      const path = `${scopePath({ namespace, env })}/import`;
      const send = (dryRun: boolean) =>
        ctx.api().then(async (api) => {
          const answer = await api.call('POST', path, null, {
            body: { changes: plan.changes, reason: importReason, dryRun },
            headers: dryRun ? {} : { 'idempotency-key': idempotencyKeyOf(fernetKey, namespace, env, plan.changes) },
          });
          return answer.body as ImportAnswer;
        });
      /** The server's refusals, as rows; null when it accepted everything. */
      const refusals = async (dryRun: boolean): Promise<{ answer: ImportAnswer | null; problems: RowProblem[] }> => {
        if (plan.changes.length === 0) return { answer: null, problems: [] };
        try {
          return { answer: await send(dryRun), problems: [] };
        } catch (error) {
          const problems = isApiError(error) ? serverProblems(error, plan) : null;
          if (!problems) throw error;
          return { answer: null, problems };
        }
      };

      // Local problems first, then what the server refuses of the rest: one list with them all.
      const { answer, problems: refused } = await refusals(opts.dryRun === true || plan.problems.length > 0);
      const problems = [...plan.problems, ...refused];
      if (problems.length > 0) {
        if (ctx.json) ctx.printJson({ imported: false, rows: rows.length, problems, skipped: plan.skipped });
        else {
          for (const p of problems) ctx.note(`  ${p.tenant ?? '(environment)'}  ${p.key}: ${p.kind}: ${p.why}`);
        }
        throw new CliError(
          `import refused: ${problems.length} of ${rows.length + Object.keys(environment ?? {}).length} row(s) cannot be imported (listed above); nothing was written`,
          exitCodes.refused,
        );
      }
      const counts = countKinds(plan.changes);
      const report = {
        imported: opts.dryRun !== true,
        dryRun: opts.dryRun === true,
        namespace,
        environment: env,
        rows: rows.length,
        environmentVariables: Object.keys(environment ?? {}).length,
        changes: counts,
        changed: answer?.changed ?? counts,
        unchanged: answer?.unchanged ?? {},
        skipped: plan.skipped,
        position: answer?.position ?? null,
        appended: answer?.appended ?? 0,
        replayed: answer?.replayed ?? false,
        sample: sampleOf(plan.changes),
      };
      if (ctx.json) return ctx.printJson(report);
      const kinds = (c: Record<string, number>) =>
        (['value', 'rollout', 'override', 'secret'] as const)
          .map((k) => `${c[k] ?? 0} ${k}${c[k] === 1 ? '' : 's'}`)
          .join(', ');
      ctx.out(
        `${namespace}/${env}: ${rows.length} row(s)${environment ? ` and ${report.environmentVariables} environment variable(s)` : ''} → ${kinds(counts)}`,
      );
      for (const s of plan.skipped) ctx.note(`  skipped ${s.tenant ?? '(environment)'}  ${s.key}: ${s.why}`);
      if (opts.dryRun) {
        ctx.out(`would change: ${kinds(report.changed)}; already so: ${kinds(report.unchanged)}`);
        for (const line of report.sample) ctx.out(`  ${line}`);
        ctx.out('dry run: nothing was written');
        return;
      }
      ctx.out(
        report.appended === 0
          ? `nothing to write: the store already holds all of it${report.replayed ? ' (this import was applied before)' : ''} (position ${report.position ?? '-'})`
          : `imported: ${report.appended} event(s) in one transaction at position ${report.position}; unchanged: ${kinds(report.unchanged)}`,
      );
    });
};

/** The legacy rows, tenant ids as their canonical text (what the seed hashes for buckets). */
const readLegacyRows = async (source: string): Promise<LegacyRow[]> => {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: source, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const { rows } = await client.query<LegacyRow>(
      'SELECT tenant_id::text AS tenant, key, value FROM tenant_configs ORDER BY tenant_id, key',
    );
    return rows;
  } catch (error) {
    // pg's messages name the server and the table, never the password of the URL.
    throw new CliError(`cannot read tenant_configs from --source: ${(error as Error).message}`, exitCodes.failure, {
      cause: error,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
};

const readEnvFile = (file: string): Record<string, string> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseEnv(text) as Record<string, string>;
};

/**
 * One key per content: a retried or repeated run of the same import replays the first answer.
 * Keyed by the Fernet key, so the stored key says nothing about the secrets it covers.
 */
const idempotencyKeyOf = (key: FernetKey, namespace: string, env: string, changes: ImportChange[]): string =>
  `tenant-configs:${createHmac('sha256', key.signing)
    .update(JSON.stringify([namespace, env, changes]))
    .digest('base64url')
    .slice(0, 43)}`;

/** The API's 422 `problems` (indexes into the changes) as rows; null for any other error. */
const serverProblems = (error: ApiError, plan: ImportPlan): RowProblem[] | null => {
  const problems = error.problem?.['problems'];
  if (error.status !== 422 || !Array.isArray(problems)) return null;
  return problems.map((p: { index?: number; detail?: string; code?: string }) => {
    const origin = plan.origins[p.index ?? -1] ?? { tenant: null, key: '?' };
    return { ...origin, kind: 'refused' as const, why: p.detail ?? p.code ?? 'refused' };
  });
};

const countKinds = (changes: readonly ImportChange[]): Record<string, number> => {
  const counts: Record<string, number> = { value: 0, rollout: 0, override: 0, secret: 0 };
  for (const c of changes) counts[c.kind] = (counts[c.kind] ?? 0) + 1;
  return counts;
};

/** Up to three changes of each kind, secrets by name only. */
const sampleOf = (changes: readonly ImportChange[]): string[] => {
  const seen: Record<string, number> = {};
  const lines: string[] = [];
  for (const c of changes) {
    seen[c.kind] = (seen[c.kind] ?? 0) + 1;
    if ((seen[c.kind] ?? 0) > 3) continue;
    const where = (tenant: string | null) => (tenant === null ? '(environment)' : tenant);
    switch (c.kind) {
      case 'value':
        lines.push(`value     ${where(c.tenant)}  ${c.key} = ${formatValue(c.value)}`);
        break;
      case 'rollout':
        lines.push(`rollout   ${c.flag} → ${c.rollout}%`);
        break;
      case 'override':
        lines.push(`override  ${c.tenant}  ${c.flag} → ${c.override}`);
        break;
      case 'secret':
        lines.push(`secret    ${where(c.tenant)}  ${c.name} (value not shown)`);
        break;
    }
  }
  return lines;
};
