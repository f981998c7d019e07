import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { StrataApi } from '@strata/contracts';
import { cliErrorOf, exitCodeOf } from '../api-client.js';
import { CliError, exitCodes } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import {
  documentToYaml,
  exportDocument,
  isDefinition,
  parseDocumentText,
  type ConfigDocument,
} from '../config-document.js';
import { loadEnvironmentState, loadManifest } from '../environment-state.js';
import {
  describeChange,
  dropsVariants,
  formatPlan,
  planChanges,
  unappliable,
  type Plan,
  type PlannedChange,
} from '../plan-changes.js';
import { plaintextProblems, validateDocument } from '../validate-document.js';
import { readStdin } from '../read-stdin.js';

const readDocument = async (ctx: CommandContext, path: string): Promise<unknown> => {
  let text: string;
  try {
    text = path === '-' ? await readStdin(ctx.io.stdin) : readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseDocumentText(text, path);
};

const refusePlaintext = (path: string, problems: string[]): void => {
  if (problems.length > 0) {
    throw new CliError(
      `${path}: refused, it holds what looks like secret plaintext: ${problems.join('; ')}. Keep secrets in the store (strata secrets set) and reference them as {secretRef, version}`,
    );
  }
};

const manifestFile = "a manifest, JSON or YAML ('-' for stdin)";

/** A manifest file and every problem the offline checks find in it. */
const readManifest = async (ctx: CommandContext, path: string): Promise<{ doc: unknown; problems: string[] }> => {
  const doc = await readDocument(ctx, path);
  return { doc, problems: await manifestProblems(doc) };
};

const refuseInvalidManifest = (path: string, problems: string[]): void => {
  if (problems.length > 0) throw new CliError(`${path}: invalid manifest: ${problems.join('; ')}`);
};

/** The plan of a file against the store, after the offline checks (plaintext first: refuse before any request). */
const planFile = async (
  ctx: CommandContext,
  path: string,
): Promise<{ doc: ConfigDocument; plan: Plan; streamVersions: Map<string, number> }> => {
  const raw = await readDocument(ctx, path);
  refusePlaintext(path, plaintextProblems(raw, undefined));
  const doc = validateDocument(raw, path, { namespace: ctx.settings.namespace, env: ctx.settings.env });
  const manifest = await loadManifest(await ctx.api(), doc.namespace);
  refusePlaintext(path, plaintextProblems(raw, manifest));
  const state = await loadEnvironmentState(await ctx.api(), doc.namespace, doc.environment);
  return { doc, plan: planChanges(doc, state), streamVersions: state.streamVersions };
};

/** Manifests and config as code: manifest publish/validate, export, plan, apply. */
export const registerConfigAsCodeCommands = (program: Command, ctx: CommandContext): void => {
  const manifest = program.command('manifest').summary('publish or validate a namespace manifest');

  manifest
    .command('validate')
    .summary('check a manifest file locally; prints every problem')
    .argument('<file>', manifestFile)
    .action(async (file: string) => {
      const { doc, problems } = await readManifest(ctx, file);
      if (ctx.json) return ctx.printJson({ valid: problems.length === 0, problems });
      refuseInvalidManifest(file, problems);
      const m = doc as { keys?: object; flags?: object; secrets?: object };
      ctx.out(
        `${file}: valid (${Object.keys(m.keys ?? {}).length} keys, ${Object.keys(m.flags ?? {}).length} flags, ${Object.keys(m.secrets ?? {}).length} secrets)`,
      );
    });

  manifest
    .command('publish')
    .summary("publish a manifest as the namespace's new version")
    .argument('<file>', manifestFile)
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(async (file: string, opts: { reason?: string }) => {
      const { doc, problems } = await readManifest(ctx, file);
      refuseInvalidManifest(file, problems);
      const result = await (
        await ctx.api()
      ).publishManifest(ctx.namespace, {
        ...(doc as Parameters<StrataApi['publishManifest']>[1]),
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      if (ctx.json) return ctx.printJson(result);
      const what = result['appended'] === 0 ? 'manifest unchanged' : 'manifest published';
      ctx.out(`${ctx.namespace}: ${what} ${ctx.colors.dim(`(position ${result.position})`)}`);
    });

  program
    .command('export')
    .summary('the environment as a YAML document (secrets as references, never values)')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .action(async (opts: { out?: string }) => {
      const [state, m] = await Promise.all([
        loadEnvironmentState(await ctx.api(), ctx.namespace, ctx.env),
        loadManifest(await ctx.api(), ctx.namespace),
      ]);
      const doc = exportDocument(state, m);
      const text = ctx.json ? `${JSON.stringify(doc, null, 2)}\n` : documentToYaml(doc);
      if (opts.out) {
        writeFileSync(opts.out, text, { mode: 0o644 });
        ctx.note(`${ctx.namespace}/${ctx.env} at position ${state.position} → ${opts.out}`);
      } else ctx.io.stdout.write(text);
    });

  program
    .command('plan')
    .summary('what apply would change in the store to match a file')
    .argument('<file>', "a document from strata export ('-' for stdin)")
    .option('--check', `exit ${exitCodes.drift} when the store differs from the file (drift detection in CI)`)
    .action(async (file: string, opts: { check?: boolean }) => {
      const { plan } = await planFile(ctx, file);
      if (ctx.json) ctx.printJson(plan);
      else ctx.out(formatPlan(plan, ctx.colors));
      if (opts.check && plan.changes.length > 0) {
        throw new CliError(
          `drift: ${plan.changes.length} difference${plan.changes.length === 1 ? '' : 's'} between ${file} and the store`,
          exitCodes.drift,
        );
      }
    });

  program
    .command('apply')
    .summary('change the store to match a file (optimistic: fails if the store changed since the plan)')
    .argument('<file>', "a document from strata export ('-' for stdin)")
    .option('-r, --reason <text>', 'why: recorded with every event', 'strata apply')
    .action(async (file: string, opts: { reason: string }) => {
      const { plan, streamVersions } = await planFile(ctx, file);
      const blocked = unappliable(plan);
      if (blocked.length > 0) {
        throw new CliError(`${file}: cannot apply: ${blocked.map((c) => describeChange(c, ctx.errColors)).join('; ')}`);
      }
      if (!ctx.json) ctx.note(formatPlan(plan, ctx.errColors).trimEnd());
      const applied: Array<PlannedChange & { position: number }> = [];
      for (const change of plan.changes) {
        const ifMatch = `"${streamVersions.get(change.streamId) ?? 0}"`;
        let result;
        try {
          result = await applyChange(ctx, plan, change, opts.reason, ifMatch);
        } catch (error) {
          if (exitCodeOf(error) === exitCodes.conflict) {
            throw new CliError(
              `${cliErrorOf(error)?.message ?? String(error)}; ${applied.length} of ${plan.changes.length} changes were applied before it; run strata plan again`,
              exitCodes.conflict,
            );
          }
          throw error;
        }
        streamVersions.set(change.streamId, result.version as number);
        applied.push({ ...change, position: result.position });
      }
      if (ctx.json) return ctx.printJson({ applied: applied.length, changes: applied });
      ctx.out(
        plan.changes.length === 0
          ? 'nothing to apply'
          : `applied ${applied.length} change${applied.length === 1 ? '' : 's'} (position ${applied[applied.length - 1]?.position})`,
      );
    });
};

const applyChange = async (ctx: CommandContext, plan: Plan, change: PlannedChange, reason: string, ifMatch: string) => {
  const scope = { namespace: plan.namespace, env: plan.environment };
  switch (change.kind) {
    case 'set':
      return (await ctx.api()).setValue(
        { ...scope, tenant: change.tenant ?? undefined },
        change.key,
        change.after,
        reason,
        {
          ifMatch,
        },
      );
    case 'unset':
      return (await ctx.api()).unsetValue({ ...scope, tenant: change.tenant ?? undefined }, change.key, reason, {
        ifMatch,
      });
    case 'flag':
      return isDefinition(change.after)
        ? (await ctx.api()).setFlagDefinition(scope, change.flag, change.after, reason, { ifMatch })
        : (await ctx.api()).setFlag(
            scope,
            change.flag,
            { ...change.after, ...(dropsVariants(change) ? { variants: null } : {}), reason },
            { ifMatch },
          );
    case 'segment':
      return (await ctx.api()).setSegment(scope, change.segment, { logic: change.after, reason }, { ifMatch });
    case 'override':
      return (await ctx.api()).setFlagOverride({ ...scope, tenant: change.tenant }, change.flag, change.after, reason, {
        ifMatch,
      });
    case 'secret':
      throw new CliError('secrets are not applied from files');
  }
};

/** Core's manifest checks, loaded only when needed (every message names key, constraint, value). */
const manifestProblems = async (doc: unknown): Promise<string[]> => {
  const core = await import('@strata/core');
  const problems = core.manifestProblems(doc);
  // Published manifests carry schemas, never values: a `default` on a secret key is plaintext.
  const keys = (doc as { keys?: Record<string, { secret?: boolean; default?: unknown }> } | null)?.keys ?? {};
  for (const [key, schema] of Object.entries(keys)) {
    if (schema && schema.secret === true && Object.hasOwn(schema, 'default'))
      problems.push(`keys.${key}: a secret key may not carry a default value`);
  }
  return problems;
};
