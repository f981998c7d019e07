import type { ApiError, HistoryEvent, Query, StrataApi } from '@strata/contracts';
import type { StrataError } from '@strata/core';
import { CliError, exitCodeForStatus, exitCodes, type ExitCode } from './cli-error.js';

/**
 * The CLI's side of the shared client (`StrataApi` from @strata/contracts): how its errors read
 * as one line with an exit code, and the history queries only the CLI needs.
 */

// By name and shape rather than `instanceof`: the error path must not load the client (and zod).
const isStrataError = (error: unknown): error is StrataError => error instanceof Error && error.name === 'StrataError';
export const isApiError = (error: unknown): error is ApiError =>
  isStrataError(error) && typeof (error as Partial<ApiError>).status === 'number';

/** The exit code a failed call ends the CLI with: by HTTP status, else unavailable for network failures. */
export const exitCodeOf = (error: unknown): ExitCode => {
  if (error instanceof CliError) return error.exitCode;
  if (isApiError(error)) return exitCodeForStatus(error.status);
  if (isStrataError(error) && (error.code === 'UNAVAILABLE' || error.code === 'TIMEOUT')) return exitCodes.unavailable;
  return exitCodes.failure;
};

/** `<title>: <detail> (error id …)` for server answers; `server unavailable: …` when none came. */
export const cliErrorOf = (error: unknown): CliError | undefined => {
  if (error instanceof CliError) return error;
  if (isApiError(error)) {
    const title = error.problem?.title ?? `HTTP ${error.status}`;
    const detail = error.message;
    const id = error.problem?.errorId ? ` (error id ${error.problem.errorId})` : '';
    return new CliError(`${title}${detail && detail !== title ? `: ${detail}` : ''}${id}`, exitCodeOf(error), {
      cause: error,
    });
  }
  if (isStrataError(error) && (error.code === 'UNAVAILABLE' || error.code === 'TIMEOUT'))
    return new CliError(`server unavailable: ${error.message}`, exitCodes.unavailable, { cause: error });
  if (isStrataError(error)) return new CliError(error.message, exitCodes.failure, { cause: error });
  return undefined;
};

/**
 * The newest `limit` events matching a filter, oldest first, without reading the whole log: the
 * API pages oldest first and has no descending order, so find the newest matching position by
 * binary search on `after` (about 2·log2(head) one-event requests), then read back from it in
 * doubling windows. `complete` says whether the window reached the start of the log.
 */
export const newestEvents = async (
  client: StrataApi,
  query: Query,
  limit: number,
): Promise<{ events: HistoryEvent[]; complete: boolean }> => {
  const hasAfter = async (after: number) => (await client.events({ ...query, after, limit: 1 })).events.length > 0;
  if (!(await hasAfter(0))) return { events: [], complete: true };
  let lo = 0;
  let hi = 1024;
  while (await hasAfter(hi)) {
    lo = hi;
    hi *= 4;
    if (hi > 2 ** 52) throw new CliError('the server ignores ?after= on /v1/events');
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await hasAfter(mid)) lo = mid;
    else hi = mid;
  }
  const newest = hi;
  for (let window = Math.max(limit * 2, 256); ; window *= 4) {
    const after = Math.max(0, newest - window);
    const events: HistoryEvent[] = [];
    for await (const event of client.allEvents({ ...query, after })) events.push(event);
    if (events.length >= limit || after === 0) return { events, complete: after === 0 };
  }
};
