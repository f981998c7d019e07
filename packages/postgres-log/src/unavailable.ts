import pg from 'pg';
import { isServerUnavailable } from '@strata/core';

/**
 * SQLSTATEs that say "the database cannot serve you right now", not "your statement is wrong":
 * connection exceptions (class 08), administrator/crash shutdown and "cannot connect now" while
 * starting or stopping (57P01–57P03), too many connections (53300), and a statement cancelled by
 * `statement_timeout` (57014).
 */
const unavailableStates = new Set(['57P01', '57P02', '57P03', '53300', '57014']);
/** What node-postgres and pg-pool throw, without a code, when a connection dies or cannot be had in time. */
const connectionMessages = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/**
 * True when `error` (or its cause) means PostgreSQL is unavailable: the request may succeed when
 * retried later, so services answer 503 with Retry-After, never 500.
 */
export const isPostgresUnavailable = (error: unknown): boolean =>
  isServerUnavailable(error, connectionMessages, (e) => {
    // The server answered: its SQLSTATE says whether it can serve now.
    if (e instanceof pg.DatabaseError && typeof e.code === 'string')
      return e.code.startsWith('08') || unavailableStates.has(e.code);
    // A connect that tried several addresses (localhost's IPv4 and IPv6) fails with each one's error.
    if (e instanceof AggregateError && e.errors.some((inner) => isPostgresUnavailable(inner))) return true;
    return undefined;
  });
