import { describe, expect, it } from 'vitest';
import { ReadQuery, TenantParams } from '@strata/contracts';
import { memoizedValidatorCompiler } from './memoized-validator.js';

const compile = (schema: unknown, httpPart: string) =>
  memoizedValidatorCompiler({ schema: schema as never, httpPart, method: 'GET', url: '/x' }) as (data: unknown) => {
    value?: unknown;
    error?: unknown;
  };

describe('memoizedValidatorCompiler', () => {
  it('still refuses a bad path parameter after good values were remembered', () => {
    const validate = compile(TenantParams, 'params');
    const good = { ns: 'shop', env: 'prod', tenant: 'acme' };
    expect(validate(good)).toEqual({ value: good });
    expect(validate(good)).toEqual({ value: good }); // remembered
    expect(validate({ ns: 'shop', env: 'prod', tenant: 'ac me' }).error).toBeDefined();
    // A remembered value under another field is not taken for that field's.
    expect(validate({ ns: 'shop', env: 'prod', tenant: 'shop' })).toEqual({
      value: { ns: 'shop', env: 'prod', tenant: 'shop' },
    });
    expect(validate({ ns: 'Shop!', env: 'prod', tenant: 'acme' }).error).toBeDefined();
    expect(validate({ ns: 'shop', env: 'prod' }).error).toBeDefined();
    expect(validate({ ns: 'shop', env: 'prod', tenant: 'acme', extra: 'shop' }).error).toBeDefined();
  });

  it('answers an empty query from memory and validates any other', () => {
    const validate = compile(ReadQuery, 'querystring');
    expect(validate({})).toEqual({ value: {} });
    expect(validate({})).toEqual({ value: {} });
    expect(validate({ minPosition: '7' })).toEqual({ value: { minPosition: 7 } });
    expect(validate({ minPosition: '-1' }).error).toBeDefined();
    expect(validate({ nope: '1' }).error).toBeDefined();
  });
});
