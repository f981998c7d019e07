import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDurationSeconds, parsePositiveInt } from '../arguments.js';
import { CliError, exitCodes, usageError } from '../cli-error.js';
import type { CommandContext } from '../command-context.js';
import { formatScope, formatTable, formatTime } from '../output.js';
import { readStdin } from '../read-stdin.js';

const days = (seconds: number): string => `${Math.floor(seconds / 86_400)}d`;

/**
 * Secrets. Values are read from stdin or a file unless given as an argument, so they need not
 * land in shell history; they are never echoed back except by `get`.
 */
export const registerSecretCommands = (program: Command, ctx: CommandContext): void => {
  const secrets = program.command('secrets').summary('secrets: set, get, list, rotate, due');

  const readValue = async (value: string | undefined, fromFile: string | undefined): Promise<string> => {
    if (value !== undefined && value !== '-' && fromFile !== undefined)
      throw usageError('give the value or --from-file, not both');
    let text: string;
    if (fromFile !== undefined) {
      try {
        text = readFileSync(fromFile, 'utf8');
      } catch (error) {
        throw new CliError(
          `cannot read ${fromFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
    } else if (value !== undefined && value !== '-') return value;
    else {
      if (ctx.io.stdin.isTTY) ctx.note('secret value (end with Ctrl-D):');
      text = await readStdin(ctx.io.stdin);
    }
    // `echo s3cret | strata secrets set` must store "s3cret", not "s3cret\n".
    const trimmed = text.replace(/\r?\n$/, '');
    if (trimmed.length === 0) throw usageError('the secret value is empty');
    return trimmed;
  };

  const write = async (
    name: string,
    value: string | undefined,
    opts: { tenant?: string; reason?: string; fromFile?: string; grace?: string },
    rotate: boolean,
  ) => {
    const plaintext = await readValue(value, opts.fromFile);
    const extra: { reason?: string; previousReadableUntil?: string } = opts.reason ? { reason: opts.reason } : {};
    if (rotate) {
      let seconds: number;
      try {
        seconds = parseDurationSeconds(opts.grace ?? '1h');
      } catch (error) {
        throw usageError(`--grace ${opts.grace}: ${(error as Error).message}`);
      }
      extra.previousReadableUntil = new Date(ctx.now() + seconds * 1000).toISOString();
    }
    const result = await (await ctx.api()).setSecret(ctx.scope(opts.tenant), name, { value: plaintext, ...extra });
    if (ctx.json) return ctx.printJson(result);
    const version = result.secretVersion !== undefined ? `version ${result.secretVersion}` : 'new version';
    const grace = rotate
      ? `; the previous version stays readable until ${formatTime(extra['previousReadableUntil'] as string)}`
      : '';
    ctx.out(
      `${formatScope(ctx.namespace, ctx.env, opts.tenant)} secret ${name}: ${version} ${ctx.colors.dim(`(position ${result.position})`)}${grace}`,
    );
  };

  secrets
    .command('set')
    .summary('add a secret version (value from the argument, --from-file, or stdin)')
    .argument('<name>')
    .argument('[value]', "the value; omit or '-' to read stdin")
    .option('-t, --tenant <tenant>', "a tenant's own secret")
    .option('--from-file <file>', 'read the value from a file')
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action((name: string, value: string | undefined, opts: { tenant?: string; reason?: string; fromFile?: string }) =>
      write(name, value, opts, false),
    );

  secrets
    .command('rotate')
    .summary('add a new version while the previous one stays readable for a grace period')
    .argument('<name>')
    .argument('[value]', "the new value; omit or '-' to read stdin")
    .option('-t, --tenant <tenant>', "a tenant's own secret")
    .option('--from-file <file>', 'read the value from a file')
    .option('--grace <duration>', 'how long the previous version stays readable (30s, 15m, 2h, 7d)', '1h')
    .option('-r, --reason <text>', 'why: recorded with the event')
    .action(
      (
        name: string,
        value: string | undefined,
        opts: { tenant?: string; reason?: string; fromFile?: string; grace?: string },
      ) => write(name, value, opts, true),
    );

  secrets
    .command('get')
    .summary('print a secret value (needs the secret-read permission; the read is recorded)')
    .argument('<name>')
    .option('-t, --tenant <tenant>', "the tenant's secret (falls back to the environment's)")
    .option('--secret-version <n>', 'an earlier version still within its rotation grace', parsePositiveInt)
    .action(async (name: string, opts: { tenant?: string; secretVersion?: number }) => {
      const secret = await (await ctx.api()).getSecret(ctx.scope(opts.tenant), name, { version: opts.secretVersion });
      if (ctx.json) return ctx.printJson(secret);
      ctx.out(secret.value);
    });

  secrets
    .command('list')
    .summary('secret names and versions (never values)')
    .option('-t, --tenant <tenant>', "the tenant's secrets and the environment's")
    .action(async (opts: { tenant?: string }) => {
      const listing = await (await ctx.api()).listSecrets(ctx.scope(opts.tenant));
      if (ctx.json) return ctx.printJson(listing);
      if (listing.secrets.length === 0) return ctx.out('(no secrets)');
      const rows = listing.secrets
        .sort((a, b) => a.name.localeCompare(b.name) || (a.tenant ?? '').localeCompare(b.tenant ?? ''))
        .map((s) => {
          const current = s.versions[s.versions.length - 1];
          const grace =
            current?.previousReadableUntil && Date.parse(current.previousReadableUntil) > ctx.now()
              ? ` (v${current.version - 1} until ${formatTime(current.previousReadableUntil)})`
              : '';
          return [
            s.name,
            s.tenant ?? ctx.colors.dim('(environment)'),
            current ? `v${current.version}${grace}` : '-',
            formatTime(current?.addedAt),
            current?.kek ?? '',
            s.deleted ? ctx.colors.red('deleted') : 'active',
          ];
        });
      ctx.out(formatTable(['NAME', 'TENANT', 'VERSION', 'ADDED', 'KEY', 'STATUS'], rows, ctx.colors));
    });

  secrets
    .command('due')
    .summary('secret versions overdue for rotation (manifest rotateEvery), in every scope you may see')
    .option('--within <duration>', 'also list versions due within this long (30s, 15m, 2h, 7d)')
    .option('--check', `exit ${exitCodes.drift} when any version is overdue (for CI and cron)`)
    .action(async (opts: { within?: string; check?: boolean }) => {
      let within: number | undefined;
      try {
        within = opts.within === undefined ? undefined : parseDurationSeconds(opts.within);
      } catch (error) {
        throw usageError(`--within ${opts.within}: ${(error as Error).message}`);
      }
      // -n/-e narrow the listing; without them, everything the token may see.
      const listing = await (
        await ctx.api()
      ).secretsDue({
        ...(ctx.settings.namespace ? { namespace: ctx.settings.namespace } : {}),
        ...(ctx.settings.env ? { env: ctx.settings.env } : {}),
        ...(within !== undefined ? { within: `PT${within}S` } : {}),
      });
      if (ctx.json) ctx.printJson(listing);
      else if (listing.secrets.length === 0) ctx.out('(nothing due)');
      else {
        const rows = listing.secrets.map((s) => [
          formatScope(s.namespace, s.env, s.tenant ?? undefined),
          s.name,
          `v${s.version}`,
          days(s.ageSeconds),
          s.rotateEvery,
          formatTime(s.dueAt),
          s.overdue ? ctx.colors.red('overdue') : ctx.colors.yellow('due soon'),
        ]);
        ctx.out(formatTable(['SCOPE', 'NAME', 'VERSION', 'AGE', 'EVERY', 'DUE', 'STATUS'], rows, ctx.colors));
      }
      if (opts.check && listing.overdue > 0)
        throw new CliError(`${listing.overdue} secret version(s) overdue for rotation`, exitCodes.drift);
    });
};
