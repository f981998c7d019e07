import { describe, expect, it } from 'vitest';
import { isServerUnavailable } from './connection-errors.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isServerUnavailable', () => {
  const messages = ['Connection is closed'];

  it('finds a lost connection by its socket code or the driver message, through the causes', () => {
    expect(isServerUnavailable(coded('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), messages)).toBe(true);
    expect(isServerUnavailable(new Error('Connection is closed.'), messages)).toBe(true);
    const wrapped = new Error('read failed', { cause: new Error('io', { cause: coded('reset', 'ECONNRESET') }) });
    expect(isServerUnavailable(wrapped, messages)).toBe(true);
    expect(isServerUnavailable(new Error('syntax error at or near "x"'), messages)).toBe(false);
    expect(isServerUnavailable('not an error', messages)).toBe(false);
  });

  it("asks the driver's judge first: true or false decides at that error, undefined looks on", () => {
    const byCode = (e: Error) => ((e as { code?: string }).code === '23505' ? false : undefined);
    // A constraint violation wrapping a lost connection: the server answered, so it is not unavailable.
    const answered = Object.assign(new Error('duplicate key', { cause: coded('reset', 'ECONNRESET') }), {
      code: '23505',
    });
    expect(isServerUnavailable(answered, messages, byCode)).toBe(false);
    expect(isServerUnavailable(new Error('Connection is closed'), messages, byCode)).toBe(true);
    expect(isServerUnavailable(new Error('busy'), messages, (e) => e.message === 'busy' || undefined)).toBe(true);
  });
});
