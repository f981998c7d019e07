import { Command, CommanderError } from 'commander';
import { cliErrorOf } from './api-client.js';
import { exitCodeHelp, exitCodes } from './cli-error.js';
import { CommandContext } from './command-context.js';
import { registerAdminCommands } from './commands/admin-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerConfigAsCodeCommands } from './commands/config-as-code-commands.js';
import { registerFlagCommands } from './commands/flag-commands.js';
import { registerImportCommands } from './commands/import-commands.js';
import { registerSecretCommands } from './commands/secret-commands.js';
import { registerValueCommands } from './commands/value-commands.js';
import type { Io } from './output.js';
import { defaultUrl } from './settings.js';

const environmentHelp = `Environment:
  STRATA_URL        API base URL (default ${defaultUrl})
  STRATA_TOKEN      bearer token
  STRATA_PROFILE    profile in ~/.config/strata/profiles.yaml (url, token, namespace, env)
  STRATA_NAMESPACE  default --namespace
  STRATA_ENV        default --env
  NO_COLOR          no colour even on a terminal
Precedence: flags > the chosen profile > environment variables > the "default" profile.`;

/** The whole command tree; `io` carries every stream, the transport and the clock. */
export const buildProgram = (io: Io): { program: Command; ctx: CommandContext } => {
  const program = new Command('strata');
  const ctx = new CommandContext(io, program);
  program
    .description(
      'Operate and audit Strata: config, feature flags, secrets, history, point-in-time reads and reverts, config as code.',
    )
    .version('0.1.0', '-V, --version')
    .option('--url <url>', 'API base URL (env STRATA_URL)')
    .option('--token <token>', 'bearer token (env STRATA_TOKEN)')
    .option('--profile <name>', 'profile from ~/.config/strata/profiles.yaml (env STRATA_PROFILE)')
    .option('-n, --namespace <ns>', 'namespace (env STRATA_NAMESPACE)')
    .option('-e, --env <env>', 'environment (env STRATA_ENV)')
    .option('--json', 'machine-readable JSON output')
    .showSuggestionAfterError()
    .addHelpText('after', `\n${environmentHelp}\n\n${exitCodeHelp}\n`)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      outputError: (text, write) => write(`strata: ${oneLine(text.replace(/^error: /, ''))}\n`),
    });
  registerValueCommands(program, ctx);
  registerFlagCommands(program, ctx);
  registerSecretCommands(program, ctx);
  registerConfigAsCodeCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerAdminCommands(program, ctx);
  registerImportCommands(program, ctx);
  // Subcommands inherit exit and output handling (commander copies settings at creation only).
  const inherit = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(program.configureOutput()).showSuggestionAfterError();
      inherit(sub);
    }
  };
  inherit(program);
  return { program, ctx };
};

const oneLine = (text: string): string => text.trim().replace(/\s*\n\s*/g, '; ');

/** Runs one invocation and returns its exit code; never throws, never calls process.exit. */
export const runCli = async (argv: readonly string[], io: Io): Promise<number> => {
  const { program } = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return exitCodes.ok;
      // Commander already printed the message (through outputError).
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    const cliError = cliErrorOf(error);
    if (cliError) {
      io.stderr.write(`strata: ${oneLine(cliError.message)}\n`);
      return cliError.exitCode;
    }
    io.stderr.write(`strata: internal error: ${oneLine((error as Error)?.message ?? String(error))}\n`);
    return exitCodes.failure;
  }
};
