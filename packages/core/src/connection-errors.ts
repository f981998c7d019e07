/**
 * What every adapter needs to tell "the server cannot be reached right now" from "the request is
 * wrong": the socket error codes of a lost or refused connection, and a walk through an error's
 * causes (drivers wrap the socket error). Each adapter adds its own driver's messages on top.
 */
const connectionLostCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** `error` and its causes, outermost first, at most five deep (a cycle of causes ends there). */
export function* causeChain(error: unknown): Generator<Error> {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) yield e;
}

/** True when this one error (not its causes) carries the code of a lost or refused connection. */
export const isConnectionLost = (error: Error): boolean => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && connectionLostCodes.has(code);
};

/**
 * True when `error` or one of its causes says the server cannot be reached right now: the code of a
 * lost connection, or a message that starts with one of the driver's `messages` (what it throws
 * without a code). `judge` answers first, for what only the driver can tell: true or false decides
 * at that error, undefined looks on.
 */
export const isServerUnavailable = (
  error: unknown,
  messages: readonly string[],
  judge: (e: Error) => boolean | undefined = () => undefined,
): boolean => {
  for (const e of causeChain(error)) {
    const verdict = judge(e);
    if (verdict !== undefined) return verdict;
    if (isConnectionLost(e) || messages.some((m) => e.message.startsWith(m))) return true;
  }
  return false;
};
