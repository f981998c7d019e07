import type { Command } from 'commander';
import type { ProjectionStatus, Role } from '@strata/contracts';
import { isApiError } from '../api-client.js';
import { parseDurationSeconds, parsePositiveInt } from '../arguments.js';
import { CliError, exitCodes, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { formatCount, formatDuration, formatScope, formatTable, formatTime, type Colors } from '../output.js';
import { progressLine, renderProgressBar, type ProgressSample } from '../progress-bar.js';

/** Unknown routes answer 404 "no route …": that means an older or smaller server, not a missing thing. */
const notSupported = (error: unknown, what: string): never => {
  if (
    isApiError(error) &&
    (error.status === 404 || error.status === 405) &&
    /no route|not found/i.test(error.message)
  ) {
    throw new CliError(`${what}: not supported by this server`, exitCodes.failure);
  }
  throw error;
};

/** A duration option in seconds; a bad one is a usage error (exit 2). */
const seconds = (option: string, text: string): number => {
  try {
    return parseDurationSeconds(text);
  } catch (error) {
    throw usageError(`${option} ${text}: ${(error as Error).message}`);
  }
};

/** Operators' tools: tokens, master keys, projection rebuilds. */
export const registerAdminCommands = (program: Command, ctx: CommandContext): void => {
  const tokens = program.command('tokens').summary('API tokens: create, list, rotate, revoke');

  const scopeText = (t: { namespace: string | null; tenant: string | null }, env: string | null) =>
    formatScope(t.namespace, env, t.tenant) === 'system' ? 'all scopes' : formatScope(t.namespace, env, t.tenant);
  const lifetime = (t: { expiresAt: string | null }) => (t.expiresAt ? `, expires ${formatTime(t.expiresAt)}` : '');

  tokens
    .command('create')
    .summary('issue a token; prints it once on stdout (details on stderr)')
    .requiredOption('--role <role>', 'reader, writer, secret-reader, secret-writer, auditor, operator or admin')
    .option(
      '--scope <ns[/env[/tenant]]>',
      'limit the token to a namespace, environment or tenant (default: everything)',
    )
    .option('-d, --description <text>', 'what the token is for')
    .option('--expires-in <duration>', 'a short-lived token: refused after this long (30s, 15m, 2h, 7d)')
    .action(async (opts: { role: string; scope?: string; description?: string; expiresIn?: string }) => {
      const [namespace, env, tenant, extra] = (opts.scope ?? '').split('/').map((p) => (p === '' ? null : p));
      if (extra !== undefined) throw usageError(`--scope ${opts.scope}: expected namespace[/env[/tenant]]`);
      const expiresAt =
        opts.expiresIn === undefined ? null : new Date(ctx.now() + seconds('--expires-in', opts.expiresIn) * 1000);
      const issued = await (
        await ctx.api()
      ).issueToken({
        role: opts.role as Role,
        namespace: namespace ?? null,
        env: env ?? null,
        tenant: tenant ?? null,
        ...(opts.description ? { description: opts.description } : {}),
        ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      });
      if (ctx.json) return ctx.printJson(issued);
      ctx.note(
        `token ${issued.id} (${issued.role}, ${scopeText(issued, issued.env)}${lifetime(issued)}) — shown once, store it now:`,
      );
      ctx.out(issued.token);
    });

  tokens
    .command('rotate')
    .summary('issue a successor (printed once on stdout); the old token keeps working for a grace period')
    .argument('<id>', 'tok_…')
    .option('--grace <duration>', 'how long the old token keeps working (30s, 15m, 2h, 7d; at most 7d)', '1h')
    .option('--expires-in <duration>', "the successor's lifetime (default: the old token's)")
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(async (id: string, opts: { grace: string; expiresIn?: string; reason?: string }) => {
      const rotated = await (
        await ctx.api()
      ).rotateToken(id, {
        graceSeconds: seconds('--grace', opts.grace),
        ...(opts.expiresIn === undefined
          ? {}
          : { expiresAt: new Date(ctx.now() + seconds('--expires-in', opts.expiresIn) * 1000).toISOString() }),
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      if (ctx.json) return ctx.printJson(rotated);
      ctx.note(
        `token ${rotated.id} replaces ${rotated.previousId} (${rotated.role}, ${scopeText(rotated, rotated.env)}${lifetime(rotated)}); ` +
          `${rotated.previousId} keeps working until ${formatTime(rotated.previousValidUntil)} — shown once, store it now:`,
      );
      ctx.out(rotated.token);
    });

  tokens
    .command('list')
    .summary('live tokens (never their values)')
    .action(async () => {
      const { tokens: list } = await (await ctx.api()).listTokens();
      if (ctx.json) return ctx.printJson(list);
      if (list.length === 0) return ctx.out('(no tokens)');
      const rows = list.map((t) => [
        t.id,
        t.role,
        formatScope(t.namespace, t.environment, t.tenant) === 'system'
          ? '*'
          : formatScope(t.namespace, t.environment, t.tenant),
        t.description ?? '',
        formatTime(t.createdAt),
        t.expiresAt ? formatTime(t.expiresAt) : '-',
        t.createdBy,
      ]);
      ctx.out(formatTable(['ID', 'ROLE', 'SCOPE', 'DESCRIPTION', 'CREATED', 'EXPIRES', 'BY'], rows, ctx.colors));
    });

  tokens
    .command('revoke')
    .summary('revoke a token (refused by every API instance within a second)')
    .argument('<id>', 'tok_…')
    .action(async (id: string) => {
      const result = await (await ctx.api()).revokeToken(id);
      if (ctx.json) return ctx.printJson(result);
      ctx.out(`token ${id} revoked ${ctx.colors.dim(`(position ${result.position})`)}`);
    });

  const keys = program.command('keys').summary('master keys of the keyring: status and rotation');

  keys
    .command('status')
    .summary('key ids, the active key, and how many data keys each wraps')
    .action(async () => {
      const status = await (await ctx.api()).keyStatus().catch((e: unknown) => notSupported(e, 'keys status'));
      ctx.printJson(status);
    });

  keys
    .command('rotate')
    .summary('re-wrap data keys under the newest master key')
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(async (opts: { reason?: string }) => {
      const result = await (
        await ctx.api()
      )
        .rotateKeys(opts.reason)
        .catch((e: unknown) => notSupported(e, 'keys rotate'));
      ctx.printJson(result);
    });

  program
    .command('projections')
    .summary('the Redis views: generation, lag behind the log, consumer checkpoints, projector lag per partition')
    .command('status')
    .summary('how far the views, the checkpoints and each projector partition are behind')
    .action(async () => {
      const status = await (await ctx.api()).projectionStatus();
      if (ctx.json) return ctx.printJson(status);
      ctx.out(formatProjectionStatus(status, ctx.colors).trimEnd());
    });

  program
    .command('rebuild')
    .summary('rebuild the Redis views from the log, with progress')
    .option('-r, --reason <text>', 'why: written to the API log')
    .option('--interval <ms>', 'how often to poll the status', parsePositiveInt, 250)
    .option('--no-wait', 'start it and return')
    .action(async (opts: { reason?: string; interval: number; wait: boolean }) => {
      const started = await (await ctx.api()).rebuildProjections(opts.reason);
      if (!started.started) ctx.note('a rebuild is already running; following it');
      if (!opts.wait)
        return ctx.json
          ? ctx.printJson(started)
          : ctx.out(`rebuild started${'generation' in started ? ` (generation ${started.generation})` : ''}`);
      await followRebuild(ctx, 'generation' in started ? started.generation : null, opts.interval);
    });
};

const followRebuild = async (ctx: CommandContext, generation: number | null, interval: number): Promise<void> => {
  const tty = ctx.io.stderr.isTTY === true && !ctx.json;
  const begin = ctx.now();
  let lastLogged = -1;
  let drawn = false;
  for (;;) {
    const status = await (await ctx.api()).projectionStatus();
    const progress = status.rebuilding?.progress;
    if (progress) {
      generation ??= progress.generation;
      const sample: ProgressSample = {
        position: progress.position,
        head: progress.head,
        events: progress.events,
        rate: progress.eventsPerSecond,
      };
      if (tty) {
        ctx.io.stderr.write(`\r\x1b[2K${renderProgressBar(sample, ctx.io.stderr.columns ?? 80)}`);
        drawn = true;
      } else if (progress.position !== lastLogged && !ctx.json) {
        ctx.note(progressLine(sample));
        lastLogged = progress.position;
      }
    }
    const last = status.last;
    const finished =
      status.rebuilding === null &&
      last !== null &&
      ('error' in last || generation === null || last.generation >= generation);
    if (finished) {
      if (tty && drawn) {
        const final =
          'error' in last
            ? null
            : { position: last.position, head: last.position, events: last.events, rate: last.eventsPerSecond };
        ctx.io.stderr.write(final ? `\r\x1b[2K${renderProgressBar(final, ctx.io.stderr.columns ?? 80)}\n` : '\n');
      }
      if ('error' in last) throw new CliError(`rebuild failed: ${last.error}`);
      if (ctx.json) return ctx.printJson(status);
      const seconds = (ctx.now() - begin) / 1000;
      return ctx.out(
        `rebuilt generation ${last.generation}: ${last.events.toLocaleString('en-US')} events up to position ${last.position} in ${seconds.toFixed(1)}s (${Math.round(last.eventsPerSecond).toLocaleString('en-US')} ev/s)`,
      );
    }
    if (status.rebuilding === null && last === null)
      throw new CliError('the server reports no rebuild running and none finished');
    await ctx.sleep(interval);
  }
};

/** A partition's state in words: a stale report says nothing about now, so it wins over the lag. */
const partitionState = (p: ProjectionStatus['partitions'][number], colors: Colors): string =>
  p.stale
    ? colors.red(`stale: last report ${formatDuration(p.ageMs / 1000)} ago, then behind by ${formatCount(p.lag)}`)
    : p.lag > 0
      ? colors.yellow(`behind by ${formatCount(p.lag)}`)
      : colors.green('caught up');

/** `strata projections status`: the overview lines, then a row per checkpoint and per partition. */
export const formatProjectionStatus = (status: ProjectionStatus, colors: Colors): string => {
  const views =
    status.position === null
      ? 'no views yet'
      : `views at position ${status.position}${status.lag === null ? '' : `, ${status.lag === 0 ? 'caught up' : `behind by ${formatCount(status.lag)}`}`}`;
  const lines = [
    `generation ${status.generation ?? 'none'}, log head ${status.head}, ${views}${status.needsRebuild ? colors.red(' (needs a rebuild)') : ''}`,
  ];
  if (status.rebuilding) {
    const p = status.rebuilding.progress;
    lines.push(
      `rebuilding since ${formatTime(status.rebuilding.startedAt)} by ${status.rebuilding.actor}${p ? `: position ${p.position}/${p.head}` : ''}`,
    );
  }
  let text = `${lines.join('\n')}\n`;
  if (status.checkpoints.length > 0) {
    text += `\n${formatTable(
      ['CHECKPOINT', 'POSITION', 'LAG', 'UPDATED'],
      status.checkpoints.map((c) => [c.name, String(c.position), formatCount(c.lag), formatTime(c.updatedAt)]),
      colors,
    )}`;
  }
  text +=
    status.partitions.length === 0
      ? '\nno projector has reported its partitions yet\n'
      : `\n${formatTable(
          ['PARTITION', 'COMMITTED', 'HIGH WATERMARK', 'LAG', 'INSTANCE', 'UPDATED', 'STATE'],
          status.partitions.map((p) => [
            String(p.partition),
            String(p.committed),
            String(p.highWatermark),
            formatCount(p.lag),
            p.instance,
            formatTime(p.updatedAt),
            partitionState(p, colors),
          ]),
          colors,
        )}`;
  return text;
};
