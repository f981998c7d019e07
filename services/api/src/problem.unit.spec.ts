import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StrataError } from '@strata/core';
import { asStrataError } from './problem.js';

const databaseError = (code: string, message: string, severity = 'FATAL') => {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  error.severity = severity;
  return error;
};
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

describe('asStrataError: an unavailable dependency is UNAVAILABLE (503), never INTERNAL', () => {
  it.each([
    ['shutting down (57P03)', databaseError('57P03', 'the database system is shutting down')],
    ['admin shutdown (57P01)', databaseError('57P01', 'terminating connection due to administrator command')],
    [
      'crash shutdown (57P02)',
      databaseError('57P02', 'terminating connection because of crash of another server process'),
    ],
    ['connection exception (08006)', databaseError('08006', 'connection failure')],
    ['too many connections (53300)', databaseError('53300', 'sorry, too many clients already')],
    ['statement timeout (57014)', databaseError('57014', 'canceling statement due to statement timeout', 'ERROR')],
    ['refused', socketError('ECONNREFUSED')],
    ['reset', socketError('ECONNRESET')],
    ['pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    ['terminated', new Error('Connection terminated unexpectedly')],
    [
      'redis retries',
      Object.assign(new Error('Reached the max retries per request limit (which is 3).'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
    ['redis closed', new Error('Connection is closed.')],
    ['redis command timeout', new Error('Command timed out')],
    [
      'wrapped by an adapter',
      new StrataError('INTERNAL', 'append rejected', {}, { cause: socketError('ECONNREFUSED') }),
    ],
  ])('%s', (_name, error) => {
    expect(asStrataError(error).code).toBe('UNAVAILABLE');
  });

  it('leaves real bugs INTERNAL', () => {
    expect(asStrataError(databaseError('42601', 'syntax error at or near "SELEC"', 'ERROR')).code).toBe('INTERNAL');
    expect(asStrataError(new TypeError('x is undefined')).code).toBe('INTERNAL');
  });
});
