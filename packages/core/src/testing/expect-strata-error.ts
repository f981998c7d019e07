import { expect } from 'vitest';
import { isStrataError, type StrataError, type StrataErrorCode } from '../errors.js';

/** Awaits `promise` and asserts it rejected with a StrataError of `code`; answers the error. */
export const expectStrataError = async (promise: Promise<unknown>, code: StrataErrorCode): Promise<StrataError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isStrataError(error)) throw new Error(`expected StrataError ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  return error;
};
