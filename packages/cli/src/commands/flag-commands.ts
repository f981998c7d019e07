import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { bucket as bucketOf, staleFlags, type NamespaceEnvState } from '@strata/core';
import { parsePositiveInt, parseRollout, parseTenantList } from '../arguments.js';
import { CliError, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { loadEnvironmentState } from '../environment-state.js';
import { formatScope } from '../output.js';
import { readStdin } from '../read-stdin.js';
import { ruleState, whoFlipsReport, type FlagRule } from '../who-flips.js';

/** Feature flags: rollout and kill switch per environment, overrides per tenant, evaluation. */
export const registerFlagCommands = (program: Command, ctx: CommandContext): void => {
  const flags = program.command('flags').summary('feature flags: rollout, kill switch, tenant overrides');

  flags
    .command('set')
    .summary('set a flag: a flagd definition (--definition), or the rollout and/or kill switch')
    .argument('<flag>')
    .option('-d, --definition <file>', "a flagd flag definition as JSON; '-' reads stdin")
    .option('--rollout <n>', 'percentage of tenants (0-100), by bucket', parseRollout)
    .addOption(new Option('--enabled', 'kill switch on (the rollout applies)').conflicts('disabled'))
    .addOption(new Option('--disabled', 'kill switch off: the flag is off for every tenant without an override'))
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(
      async (
        flag: string,
        opts: { definition?: string; rollout?: number; enabled?: boolean; disabled?: boolean; reason?: string },
      ) => {
        if (opts.definition !== undefined) {
          if (opts.rollout !== undefined || opts.enabled || opts.disabled)
            throw usageError('flags set: --definition replaces --rollout, --enabled and --disabled');
          const definition = await readJson(ctx, opts.definition);
          const result = await (await ctx.api()).setFlagDefinition(ctx.scope(), flag, definition, opts.reason);
          if (ctx.json) return ctx.printJson(result);
          return ctx.out(
            `${formatScope(ctx.namespace, ctx.env)} ${flag}: definition set ${ctx.colors.dim(`(position ${result.position})`)}`,
          );
        }
        if (opts.rollout === undefined && !opts.enabled && !opts.disabled)
          throw usageError('flags set: give --definition, --rollout, --enabled or --disabled');
        let rule: Partial<FlagRule> = {
          rollout: opts.rollout,
          enabled: opts.enabled ? true : opts.disabled ? false : undefined,
        };
        if (rule.rollout === undefined || rule.enabled === undefined) {
          // The API takes both; keep whichever the caller did not mention as it is now.
          const current = (await loadEnvironmentState(await ctx.api(), ctx.namespace, ctx.env)).flags.get(flag);
          if (rule.rollout === undefined && !current)
            throw usageError(`flags set: ${flag} has no rollout yet in ${ctx.namespace}/${ctx.env}; give --rollout`);
          rule = { rollout: rule.rollout ?? current?.rollout, enabled: rule.enabled ?? current?.enabled ?? true };
        }
        const result = await (
          await ctx.api()
        ).setFlag(ctx.scope(), flag, {
          rollout: rule.rollout as number,
          enabled: rule.enabled as boolean,
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        if (ctx.json) return ctx.printJson(result);
        ctx.out(
          `${formatScope(ctx.namespace, ctx.env)} ${flag}: ${rule.enabled ? ctx.colors.green('on') : ctx.colors.red('off')} ${rule.rollout}% ${ctx.colors.dim(`(position ${result.position})`)}`,
        );
      },
    );

  flags
    .command('override')
    .summary('force a flag on or off for one tenant, pin one of its variants, or clear the override')
    .argument('<flag>')
    .argument('[state]', 'enabled | disabled | clear (omit with --variant)')
    .requiredOption('-t, --tenant <tenant>', 'the tenant')
    .option('--variant <name>', "pin this variant of the flag's definition for the tenant")
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(
      async (flag: string, state: string | undefined, opts: { tenant: string; variant?: string; reason?: string }) => {
        if (opts.variant !== undefined && state !== undefined)
          throw usageError(`flags override: give a state or --variant, not both`);
        if (opts.variant === undefined && !['enabled', 'disabled', 'clear'].includes(state ?? ''))
          throw usageError(`flags override: state must be enabled, disabled or clear, not ${state ?? 'nothing'}`);
        const override =
          opts.variant !== undefined
            ? { variant: opts.variant }
            : state === 'clear'
              ? null
              : (state as 'enabled' | 'disabled');
        const result = await (
          await ctx.api()
        ).setFlagOverride(ctx.tenantScope(opts.tenant), flag, override, opts.reason);
        if (ctx.json) return ctx.printJson(result);
        const what =
          override === null
            ? 'override cleared'
            : typeof override === 'object'
              ? `pinned to variant ${override.variant}`
              : `forced ${override}`;
        ctx.out(
          `${formatScope(ctx.namespace, ctx.env, opts.tenant)} ${flag}: ${what} ${ctx.colors.dim(`(position ${result.position})`)}`,
        );
      },
    );

  flags
    .command('eval')
    .summary('evaluate a flag for a tenant, with the reason')
    .argument('<flag>')
    .requiredOption('-t, --tenant <tenant>', 'the tenant')
    .action(async (flag: string, opts: { tenant: string }) => {
      const evaluation = await (await ctx.api()).evaluateFlag(ctx.tenantScope(opts.tenant), flag);
      const bucket = bucketOf(opts.tenant, flag);
      if (ctx.json) return ctx.printJson({ flag, tenant: opts.tenant, bucket, ...evaluation });
      const state = evaluation.enabled ? ctx.colors.green('enabled') : ctx.colors.red('disabled');
      ctx.out(
        `${flag} for ${opts.tenant}: ${state} (reason: ${evaluation.reason}, bucket ${bucket}, position ${evaluation.position})`,
      );
    });

  flags
    .command('who-flips')
    .summary('which tenants a rollout change would turn on or off (computed locally)')
    .description(
      'Lists the tenants whose flag state would change if the rollout became <n>, using the bucket rule int(sha256("<tenant>:<flag>")[:8], 16) % 100 < rollout. The current rollout, kill switch and overrides come from the server unless --from is given (then nothing is fetched and overrides are not considered).',
    )
    .argument('<flag>')
    .requiredOption('--rollout <n>', 'the proposed rollout (0-100)', parseRollout)
    .requiredOption('--tenants-from <file>', "tenant ids, one per line (or a JSON array); '-' reads stdin")
    .option('--from <n>', 'the current rollout (skip asking the server)', parseRollout)
    .action(async (flag: string, opts: { rollout: number; tenantsFrom: string; from?: number }) => {
      const text = opts.tenantsFrom === '-' ? await readStdin(ctx.io.stdin) : readTextFile(opts.tenantsFrom);
      let tenants: string[];
      try {
        tenants = parseTenantList(text);
      } catch (error) {
        throw new CliError(`${opts.tenantsFrom}: ${(error as Error).message}`);
      }
      let state: NamespaceEnvState;
      if (opts.from !== undefined)
        state = ruleState(ctx.namespace, ctx.env, flag, { rollout: opts.from, enabled: true });
      else state = await loadEnvironmentState(await ctx.api(), ctx.namespace, ctx.env);
      const current = state.flags.get(flag);
      const from: FlagRule = current
        ? { rollout: current.rollout, enabled: current.enabled }
        : { rollout: 0, enabled: true };
      const to: FlagRule = { rollout: opts.rollout, enabled: from.enabled };
      const result = whoFlipsReport(state, flag, tenants, to);
      if (ctx.json) return ctx.printJson({ flag, from, to, ...result });
      for (const f of result.on)
        ctx.out(`${ctx.colors.green('+')} ${f.tenant}  ${ctx.colors.dim(`bucket ${f.bucket}`)}`);
      for (const f of result.off)
        ctx.out(`${ctx.colors.red('-')} ${f.tenant}  ${ctx.colors.dim(`bucket ${f.bucket}`)}`);
      const killed = from.enabled ? '' : ' (the kill switch is off: nobody without an override is on either way)';
      ctx.note(
        `${flag} ${from.rollout}% → ${to.rollout}%: ${result.on.length} of ${tenants.length} tenants turn on, ${result.off.length} turn off, ${result.unchanged} unchanged, ${result.overridden} pinned by an override${killed}`,
      );
    });

  flags
    .command('stale')
    .summary('flags fully rolled out or off (0% or 100%) and unchanged for a while: candidates to remove from code')
    .option('--days <n>', 'unchanged for longer than this many days (default 30)', parsePositiveInt)
    .action(async (opts: { days?: number }) => {
      const days = opts.days ?? 30;
      const state = await loadEnvironmentState(await ctx.api(), ctx.namespace, ctx.env);
      const stale = staleFlags(state, new Date().toISOString(), days * dayMs);
      if (ctx.json) return ctx.printJson({ days, flags: stale });
      for (const f of stale)
        ctx.out(
          `${f.flag}  ${f.enabled ? ctx.colors.green('on') : ctx.colors.red('off')} ${f.rollout}%  ${ctx.colors.dim(`unchanged for ${Math.floor(f.ageMs / dayMs)} days, since ${f.changedAt}`)}`,
        );
      ctx.note(
        `${formatScope(ctx.namespace, ctx.env)}: ${stale.length} flag(s) at 0% or 100% unchanged for more than ${days} days`,
      );
    });

  flags
    .command('import')
    .summary('import a flagd file ({"$evaluators", "flags"}): one atomic write, missing flags declared')
    .argument('<file>', "the flagd file; '-' reads stdin")
    .option('-r, --reason <text>', 'why: recorded with the events')
    .action(async (file: string, opts: { reason?: string }) => {
      const result = await (await ctx.api()).importFlags(ctx.scope(), await readJson(ctx, file), opts.reason);
      if (ctx.json) return ctx.printJson(result);
      ctx.out(
        `${formatScope(ctx.namespace, ctx.env)}: imported ${result.flags.length} flag(s), ${result.segments.length} segment(s) ${ctx.colors.dim(`(position ${result.position})`)}`,
      );
    });

  flags
    .command('export')
    .summary('print the environment as a flagd file (flagd loads it as it is)')
    .action(async () => {
      ctx.printJson(await (await ctx.api()).exportFlags(ctx.scope()));
    });

  flags
    .command('preview')
    .summary('who flips: which tenants or contexts a proposed definition would change, from what to what')
    .argument('<flag>')
    .requiredOption('-d, --definition <file>', "the proposed flagd definition as JSON; '-' reads stdin")
    .option('--seen', 'every tenant seen in this environment')
    .option('--tenants-from <file>', 'tenant ids, one per line (or a JSON array)')
    .option('--contexts <file>', 'a JSON array of evaluation contexts')
    .action(
      async (flag: string, opts: { definition: string; seen?: boolean; tenantsFrom?: string; contexts?: string }) => {
        const definition = await readJson(ctx, opts.definition);
        let tenants: 'seen' | string[] | undefined = opts.seen ? 'seen' : undefined;
        if (opts.tenantsFrom !== undefined) {
          if (tenants) throw usageError('flags preview: give --seen or --tenants-from, not both');
          try {
            tenants = parseTenantList(readTextFile(opts.tenantsFrom));
          } catch (error) {
            throw new CliError(`${opts.tenantsFrom}: ${(error as Error).message}`);
          }
        }
        const contexts = opts.contexts === undefined ? undefined : await readJson(ctx, opts.contexts);
        if (contexts !== undefined && !Array.isArray(contexts))
          throw new CliError(`${opts.contexts}: expected a JSON array of contexts`);
        if (!tenants && !contexts) throw usageError('flags preview: give --seen, --tenants-from or --contexts');
        const result = await (
          await ctx.api()
        ).previewFlag(ctx.scope(), flag, {
          definition,
          ...(tenants ? { tenants } : {}),
          ...(contexts ? { contexts: contexts as Record<string, unknown>[] } : {}),
        });
        if (ctx.json) return ctx.printJson(result);
        const show = (side: { variant: string | null; value: unknown }) =>
          `${side.variant ?? '(default)'}=${JSON.stringify(side.value)}`;
        for (const f of result.flips)
          ctx.out(`${f.tenant ?? JSON.stringify(f.context)}  ${show(f.from)} → ${show(f.to)}`);
        ctx.note(`${flag}: ${result.changed} of ${result.evaluated} change variant`);
      },
    );
};

const dayMs = 86_400_000;

/** JSON from a file or, for '-', stdin; a one-line error otherwise. */
const readJson = async (ctx: CommandContext, path: string): Promise<unknown> => {
  const text = path === '-' ? await readStdin(ctx.io.stdin) : readTextFile(path);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${path}: not JSON (${(error as Error).message})`);
  }
};

const readTextFile = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
};
