/**
 * Exit codes are part of the CLI's contract: scripts and CI branch on them, so each one has a
 * single meaning and `strata --help` lists them.
 */
export const exitCodes = {
  ok: 0,
  /** The command failed, or `verify` found tampering. */
  failure: 1,
  /** Bad arguments or options, or a question that needs a TTY (or `--yes`). */
  usage: 2,
  /** `plan --check`: the store differs from the file; `secrets due --check`: a secret is overdue. */
  drift: 3,
  /** The server refused the credential (401) or its permissions (403). */
  auth: 4,
  /** Optimistic concurrency lost (409/412): someone changed it first. */
  conflict: 5,
  notFound: 6,
  /** No answer, or 502/503/504. */
  unavailable: 7,
  /** `import`: rows that map to nothing, values refused, tokens that do not decrypt; nothing written. */
  refused: 8,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export const exitCodeHelp = `Exit codes:
  0  ok
  1  failure (including verify finding tampering)
  2  usage error (or a confirmation needed without a TTY: pass --yes)
  3  drift (plan --check) or overdue secrets (secrets due --check)
  4  authentication or permission refused (401/403)
  5  conflict (409/412: changed by someone else)
  6  not found
  7  server unavailable
  8  import refused: rows listed on stderr (unmapped, refused value, undecryptable); nothing written`;

/** The one error type of the CLI: a one-line message and the exit code it ends the process with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = exitCodes.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string): CliError => new CliError(message, exitCodes.usage);

/** The exit code for an HTTP error status; one table, like the API's status table. */
export const exitCodeForStatus = (status: number): ExitCode => {
  if (status === 401 || status === 403) return exitCodes.auth;
  if (status === 409 || status === 412) return exitCodes.conflict;
  if (status === 404 || status === 410) return exitCodes.notFound;
  if (status === 502 || status === 503 || status === 504) return exitCodes.unavailable;
  return exitCodes.failure;
};
