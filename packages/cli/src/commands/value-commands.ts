import { Option, type Command } from 'commander';
import type { ResolvedAnswer as ResolvedConfig } from '@strata/contracts';
import {
  describePoint,
  parseNonNegativeInt,
  parsePointInTime,
  parseValue,
  pointQuery,
  type PointInTime,
} from '../arguments.js';
import { CliError, exitCodes, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { formatScope, formatTable, formatValue, type Colors } from '../output.js';
import { describeStateChange } from '../state-change.js';

/** Reading and writing config values: get, set, unset, at, diff. */
export const registerValueCommands = (program: Command, ctx: CommandContext): void => {
  program
    .command('get')
    .summary('resolved config of the environment or a tenant (now or in the past)')
    .description(
      'Prints the resolved config: tenant override → environment value → manifest default, with the layer each value came from and the log position that last changed it. With a key, prints only that value (as JSON).',
    )
    .argument('[key]', 'one key (dot.separated)')
    .option('-t, --tenant <tenant>', 'resolve for this tenant (with its overrides)')
    .addOption(new Option('--at <time>', 'as of a time: RFC 3339, or a duration ago like 2h').conflicts('position'))
    .addOption(new Option('--position <n>', 'as of a log position').argParser(parseNonNegativeInt))
    .action(async (key: string | undefined, opts: { tenant?: string; at?: string; position?: number }) => {
      const point: PointInTime | undefined =
        opts.position !== undefined
          ? { position: opts.position }
          : opts.at !== undefined
            ? parsePointInTime(opts.at, () => ctx.now())
            : undefined;
      const config = await (
        await ctx.api()
      ).resolvedConfig(ctx.scope(opts.tenant), point ? pointQuery(point) : undefined);
      if (key === undefined) return printResolved(ctx, config, opts.tenant, point);
      const entry = config.values[key];
      if (!entry) {
        throw new CliError(
          `${key}: no value in ${formatScope(ctx.namespace, ctx.env, opts.tenant)}${point ? ` at ${describePoint(point)}` : ''} (not declared, or no default)`,
          exitCodes.notFound,
        );
      }
      if (ctx.json) return ctx.printJson({ key, ...entry });
      const info = ctx.io.stdout.isTTY ? ctx.colors.dim(`  (${entry.source}, position ${entry.position})`) : '';
      ctx.out(`${formatValue(entry.value)}${info}`);
    });

  program
    .command('set')
    .summary('set an environment value or a tenant override')
    .description(
      'Sets a value. The value is parsed as JSON when it parses (42, true, {"a":1}, "quoted"), else taken as a string.',
    )
    .argument('<key>')
    .argument('<value>')
    .option('-t, --tenant <tenant>', 'set a tenant override instead of the environment value')
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(async (key: string, raw: string, opts: { tenant?: string; reason?: string }) => {
      const value = parseValue(raw);
      const result = await (await ctx.api()).setValue(ctx.scope(opts.tenant), key, value, opts.reason);
      if (ctx.json) return ctx.printJson(result);
      ctx.out(
        `${formatScope(ctx.namespace, ctx.env, opts.tenant)} ${key} = ${formatValue(value)} ${ctx.colors.dim(`(position ${result.position})`)}`,
      );
    });

  program
    .command('unset')
    .summary('remove an environment value or a tenant override (the next layer shows through)')
    .argument('<key>')
    .option('-t, --tenant <tenant>', 'remove the tenant override')
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(async (key: string, opts: { tenant?: string; reason?: string }) => {
      const result = await (await ctx.api()).unsetValue(ctx.scope(opts.tenant), key, opts.reason);
      if (ctx.json) return ctx.printJson(result);
      ctx.out(
        `${formatScope(ctx.namespace, ctx.env, opts.tenant)} ${key} unset ${ctx.colors.dim(`(position ${result.position})`)}`,
      );
    });

  program
    .command('at')
    .summary('the resolved state at a past time or log position')
    .argument('<time|position>', 'a log position, an RFC 3339 time, or a duration ago like 2h')
    .option('-t, --tenant <tenant>', 'resolve for this tenant')
    .action(async (when: string, opts: { tenant?: string }) => {
      const point = parsePointOrUsage(when, ctx);
      const config = await (await ctx.api()).resolvedConfig(ctx.scope(opts.tenant), pointQuery(point));
      printResolved(ctx, config, opts.tenant, point);
    });

  program
    .command('diff')
    .summary('what changed between two points (values, flags, overrides, secret versions)')
    .argument('<from>', 'a log position, an RFC 3339 time, or a duration ago like 2h')
    .argument('[to]', 'same forms; default now')
    .action(async (fromText: string, toText: string | undefined) => {
      const from = parsePointOrUsage(fromText, ctx);
      const to = toText === undefined ? undefined : parsePointOrUsage(toText, ctx);
      const scope = ctx.scope();
      const answer = await (
        await ctx.api()
      ).diff(scope, {
        from: pointText(from),
        to: to === undefined ? undefined : pointText(to),
      });
      if (ctx.json) return ctx.printJson(answer);
      const head = `${formatScope(scope.namespace, scope.env)}: position ${answer.from} → ${answer.to}`;
      if (answer.changes.length === 0) return ctx.out(`${head}: no changes`);
      ctx.out(`${head}: ${answer.changes.length} change${answer.changes.length === 1 ? '' : 's'}`);
      for (const change of answer.changes) ctx.out(`  ${describeStateChange(change, ctx.colors)}`);
    });
};

const pointText = (point: PointInTime): string => ('position' in point ? String(point.position) : point.at);

const parsePointOrUsage = (text: string, ctx: CommandContext): PointInTime => {
  try {
    return parsePointInTime(text, () => ctx.now());
  } catch (error) {
    throw usageError(`${text}: ${(error as Error).message}`);
  }
};

export const resolvedTable = (config: ResolvedConfig, colors: Colors): string => {
  const rows = Object.entries(config.values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, v]) => [
      key,
      formatValue(v.value),
      v.source === 'tenant' ? colors.cyan(v.source) : v.source === 'default' ? colors.dim(v.source) : v.source,
      String(v.position),
    ]);
  return formatTable(['KEY', 'VALUE', 'SOURCE', 'POSITION'], rows, colors);
};

const printResolved = (
  ctx: CommandContext,
  config: ResolvedConfig,
  tenant: string | undefined,
  point: PointInTime | undefined,
): void => {
  if (ctx.json) return ctx.printJson(config);
  const where = formatScope(ctx.namespace, ctx.env, tenant);
  ctx.out(ctx.colors.dim(`${where} at position ${config.position}${point && 'at' in point ? ` (${point.at})` : ''}`));
  if (Object.keys(config.values).length === 0) return ctx.out('(no values)');
  ctx.out(resolvedTable(config, ctx.colors));
};
