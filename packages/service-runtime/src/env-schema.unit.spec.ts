import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { envInt, envList, envLogLevel, envOptionalInt, envSwitch, envText, readEnv, sharedEnv } from './env-schema.js';

const shape = {
  NAME: ['NAME', envText('fallback')],
  COUNT: ['COUNT', envInt(6, 1)],
  PORT: ['PORT', envInt(8080, 0, 65535, 'must be a TCP port (0-65535)')],
  METRICS_PORT: ['METRICS_PORT', envOptionalInt(0)],
  BROKERS: ['BROKERS', sharedEnv.kafkaBrokers[1]],
  ITEMS: ['ITEMS', envList('a, b')],
  MIGRATE: ['MIGRATE', envSwitch()],
  LOG_LEVEL: ['LOG_LEVEL', envLogLevel()],
} as const;

describe('readEnv', () => {
  it('reads each field from its variable', () => {
    expect(readEnv({ databaseUrl: sharedEnv.databaseUrl, topic: sharedEnv.topic }, { STRATA_TOPIC: 't' })).toEqual({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/strata',
      topic: 't',
    });
  });

  it('applies defaults for unset and empty variables', () => {
    expect(readEnv(shape, { NAME: '', COUNT: '' })).toEqual({
      NAME: 'fallback',
      COUNT: 6,
      PORT: 8080,
      METRICS_PORT: undefined,
      BROKERS: ['127.0.0.1:9092'],
      ITEMS: ['a', 'b'],
      MIGRATE: true,
      LOG_LEVEL: 'info',
    });
  });

  it('parses what is set: integers, lists (trimmed, scheme stripped, empties dropped), switches, levels', () => {
    expect(
      readEnv(shape, {
        NAME: 'n',
        COUNT: '3',
        PORT: '0',
        METRICS_PORT: '9100',
        BROKERS: 'kafka://k1:9092, ,k2:9093',
        MIGRATE: 'false',
        LOG_LEVEL: 'warn',
      }),
    ).toMatchObject({
      NAME: 'n',
      COUNT: 3,
      PORT: 0,
      METRICS_PORT: 9100,
      BROKERS: ['k1:9092', 'k2:9093'],
      MIGRATE: false,
    });
  });

  it('a broken variable is one line naming it, its rule and its value, as a StrataError', () => {
    const failure = (env: NodeJS.ProcessEnv) => {
      try {
        readEnv(shape, env);
      } catch (error) {
        return error as StrataError;
      }
      throw new Error('parsed');
    };
    const count = failure({ COUNT: '0' });
    expect(count).toBeInstanceOf(StrataError);
    expect(count.message).toBe('COUNT must be an integer ≥ 1, got "0"');
    expect(count.details).toMatchObject({ variable: 'COUNT' });
    expect(failure({ COUNT: '2.5' }).message).toBe('COUNT must be an integer ≥ 1, got "2.5"');
    expect(failure({ PORT: '70000' }).message).toBe('PORT must be a TCP port (0-65535), got "70000"');
    expect(failure({ METRICS_PORT: 'x' }).message).toBe('METRICS_PORT must be an integer ≥ 0, got "x"');
    expect(failure({ LOG_LEVEL: 'loud' }).message).toMatch(/^LOG_LEVEL must be one of fatal, error, .*, got "loud"$/);
    expect(failure({ LOG_LEVEL: 'loud' }).message).not.toContain('\n');
  });
});
