import { Option, type Command } from 'commander';
import type { Query, RevertAnswer } from '@strata/contracts';
import { newestEvents } from '../api-client.js';
import { describePoint, parsePointInTime, parsePositiveInt, type PointInTime } from '../arguments.js';
import { CliError, exitCodes, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { BeforeTracker, changeText, eventAfter, eventScope, eventSubject } from '../event-text.js';
import { formatTable, formatTime } from '../output.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

type RevertDryRun = Extract<RevertAnswer, { dryRun: true }>;
type RevertApplied = Extract<RevertAnswer, { applied: unknown }>;

/** The client answers either shape; the request's `dryRun` says which. */
const as = <T extends RevertAnswer>(answer: RevertAnswer, dryRun: boolean): T => {
  if ('dryRun' in answer !== dryRun) throw new CliError('the server answered the revert with the other shape');
  return answer as T;
};

/** Auditing and undoing: history, revert, verify. */
export const registerAuditCommands = (program: Command, ctx: CommandContext): void => {
  program
    .command('history')
    .summary('who changed what, when and why; newest first')
    .option('-t, --tenant <tenant>', 'only this tenant')
    .option('-k, --key <key>', 'only this key')
    .option('--actor <actor>', 'only this actor (admin, token:<id>)')
    .option('--type <type>', 'only this event type (repeatable), e.g. ConfigValueSet', collect)
    .option('--from <time>', 'from this time (RFC 3339 or a duration ago like 2h)')
    .option('--to <time>', 'before this time')
    .option('--limit <n>', 'the newest n events', parsePositiveInt, 50)
    .addOption(new Option('--ndjson', 'one JSON event per line').conflicts('json'))
    .action(
      async (opts: {
        tenant?: string;
        key?: string;
        actor?: string;
        type?: string[];
        from?: string;
        to?: string;
        limit: number;
        ndjson?: boolean;
      }) => {
        const time = (flag: string, text: string | undefined) => {
          if (text === undefined) return undefined;
          const point = parsePoint(text, ctx, flag);
          if ('position' in point) throw usageError(`${flag} takes a time, not a position`);
          return point.at;
        };
        const query: Query = {
          namespace: ctx.settings.namespace,
          env: ctx.settings.env,
          tenant: opts.tenant,
          key: opts.key,
          actor: opts.actor,
          from: time('--from', opts.from),
          to: time('--to', opts.to),
        };
        const types = opts.type ?? [];
        const { events, complete } = await newestEvents(
          await ctx.api(),
          types.length > 0 ? { ...query, type: types } : query,
          opts.limit,
        );
        const tracker = new BeforeTracker(complete);
        const seen = events.map((event) => ({ event, before: tracker.see(event) }));
        const newest = seen.slice(-opts.limit);
        newest.reverse();
        if (opts.ndjson) {
          for (const { event } of newest) ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
          return;
        }
        if (ctx.json) return ctx.printJson(newest.map(({ event }) => event));
        if (newest.length === 0) return ctx.out('(no events)');
        const rows = newest.map(({ event, before }) => {
          const data = event.data as Record<string, unknown>;
          const actor = (event as { actor?: string }).actor ?? event.metadata?.actor ?? '';
          const reason = event.metadata?.reason ?? '';
          const revert =
            event.metadata?.revertTo !== undefined && event.metadata?.revertTo !== null
              ? ctx.colors.yellow(`[revert to ${event.metadata.revertTo}] `)
              : '';
          return [
            String(event.position),
            formatTime(event.recordedAt),
            actor,
            eventScope(data),
            eventSubject(event.type, data),
            changeText(before, eventAfter(event.type, data)),
            `${revert}${reason}`,
          ];
        });
        ctx.out(formatTable(['POS', 'TIME', 'ACTOR', 'SCOPE', 'KEY', 'BEFORE → AFTER', 'REASON'], rows, ctx.colors));
      },
    );

  program
    .command('revert')
    .summary('restore an earlier state by appending compensating events (history stays)')
    .requiredOption(
      '--to <time|position>',
      'the point to go back to: a log position, an RFC 3339 time, or a duration ago like 2h',
    )
    .option('-t, --tenant <tenant>', 'only this tenant (repeatable)', collect)
    .option('-k, --key <key>', 'only this key, flag or secret (repeatable)', collect)
    .option('--dry-run', 'show the plan and change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('-r, --reason <text>', 'why: recorded with every compensating event')
    .action(
      async (opts: {
        to: string;
        tenant?: string[];
        key?: string[];
        dryRun?: boolean;
        yes?: boolean;
        reason?: string;
      }) => {
        const point = parsePoint(opts.to, ctx, '--to');
        const scope = ctx.scope();
        const body = {
          to: 'position' in point ? { position: point.position } : { at: point.at },
          ...(opts.tenant ? { tenants: opts.tenant } : {}),
          ...(opts.key ? { keys: opts.key } : {}),
          reason: opts.reason ?? `strata revert --to ${describePoint(point)}`,
        };
        const planned = as<RevertDryRun>(await (await ctx.api()).revert(scope, { ...body, dryRun: true }), true);
        const count = planned.plan.streams.reduce((n, s) => n + s.events.length, 0);
        if (opts.dryRun && ctx.json) return ctx.printJson(planned);
        const show = opts.dryRun ? ctx.out.bind(ctx) : ctx.note.bind(ctx);
        show(formatRevertPlan(planned, ctx));
        if (opts.dryRun || count === 0) return;
        if (!opts.yes) {
          if (!ctx.interactive || !ctx.io.confirm) {
            throw new CliError(
              'revert needs confirmation: run it on a terminal, or pass --yes (use --dry-run to only see the plan)',
              exitCodes.usage,
            );
          }
          if (
            !(await ctx.io.confirm(
              `Append these ${count} event${count === 1 ? '' : 's'} to ${scope.namespace}/${scope.env}?`,
            ))
          ) {
            throw new CliError('revert cancelled; nothing was changed');
          }
        }
        const applied = as<RevertApplied>(await (await ctx.api()).revert(scope, { ...body, dryRun: false }), false);
        if (ctx.json) return ctx.printJson(applied);
        ctx.out(
          `reverted ${scope.namespace}/${scope.env} to position ${applied.to}: ${applied.appended} event${applied.appended === 1 ? '' : 's'} appended ${ctx.colors.dim(`(position ${applied.position})`)}`,
        );
      },
    );

  program
    .command('verify')
    .summary(`check the log's hash chain; exit ${exitCodes.failure} and name the first bad position on tampering`)
    .action(async () => {
      const result = await (await ctx.api()).verify();
      if (ctx.json) ctx.printJson(result);
      if (!result.ok)
        throw new CliError(
          `verify failed: the log was altered at position ${result.firstBadPosition} (checked ${result.checked} events before it)`,
        );
      if (!ctx.json)
        ctx.out(
          `${ctx.colors.green('ok')}: hash chain intact, ${result.checked} events checked up to position ${result.head}`,
        );
    });
};

const parsePoint = (text: string, ctx: CommandContext, flag: string): PointInTime => {
  try {
    return parsePointInTime(text, () => ctx.now());
  } catch (error) {
    throw usageError(`${flag} ${text}: ${(error as Error).message}`);
  }
};

export const formatRevertPlan = (planned: RevertDryRun, ctx: CommandContext): string => {
  const lines: string[] = [];
  const count = planned.plan.streams.reduce((n, s) => n + s.events.length, 0);
  lines.push(
    `revert to position ${planned.to} (now at ${planned.position}): ${count === 0 ? 'nothing to change' : `${count} compensating event${count === 1 ? '' : 's'}`}`,
  );
  for (const stream of planned.plan.streams) {
    for (const event of stream.events) {
      const after = eventAfter(event.type, event.data);
      lines.push(
        `  ${after === undefined ? ctx.colors.red('-') : ctx.colors.yellow('~')} ${eventScope(event.data)} ${eventSubject(event.type, event.data)} → ${after ?? '∅'}  ${ctx.colors.dim(event.type)}`,
      );
    }
  }
  for (const s of planned.plan.skipped)
    lines.push(`  ${ctx.colors.dim(`skipped ${s.kind} ${s.tenant ? `${s.tenant}/` : ''}${s.key}: ${s.reason}`)}`);
  return lines.join('\n');
};
