import { describe, expect, it } from 'vitest';
import { parsePointInTime, parseRollout, parseTenantList, parseValue } from './arguments.js';

describe('parseValue', () => {
  it('reads JSON when the text is JSON, else keeps the text', () => {
    expect(parseValue('42')).toBe(42);
    expect(parseValue('true')).toBe(true);
    expect(parseValue('{"a":[1,2]}')).toEqual({ a: [1, 2] });
    expect(parseValue('"007"')).toBe('007');
    expect(parseValue('null')).toBeNull();
    expect(parseValue('hello world')).toBe('hello world');
    expect(parseValue('{not json')).toBe('{not json');
  });
});

describe('parsePointInTime', () => {
  const now = () => Date.parse('2026-05-01T12:00:00Z');
  it('reads positions, RFC 3339 times, dates and durations ago', () => {
    expect(parsePointInTime('42', now)).toEqual({ position: 42 });
    expect(parsePointInTime('2026-04-30T10:00:00+02:00', now)).toEqual({ at: '2026-04-30T08:00:00.000Z' });
    expect(parsePointInTime('2026-04-30 10:00', now)).toEqual({ at: '2026-04-30T10:00:00.000Z' });
    expect(parsePointInTime('2026-04-30', now)).toEqual({ at: '2026-04-30T00:00:00.000Z' });
    expect(parsePointInTime('2h', now)).toEqual({ at: '2026-05-01T10:00:00.000Z' });
    expect(parsePointInTime('15m ago', now)).toEqual({ at: '2026-05-01T11:45:00.000Z' });
  });
  it('refuses anything else', () => {
    expect(() => parsePointInTime('yesterday', now)).toThrow(/position/);
    expect(() => parsePointInTime('-3', now)).toThrow();
    expect(() => parsePointInTime('2026-13-45', now)).toThrow();
  });
});

describe('parseRollout', () => {
  it('takes 0-100, with or without %', () => {
    expect(parseRollout('0')).toBe(0);
    expect(parseRollout('25%')).toBe(25);
    expect(parseRollout('100')).toBe(100);
    expect(() => parseRollout('101')).toThrow(/0 to 100/);
    expect(() => parseRollout('2.5')).toThrow();
    expect(() => parseRollout('x')).toThrow();
  });
});

describe('parseTenantList', () => {
  it('reads one id per line, skipping blanks, comments and duplicates', () => {
    expect(parseTenantList('acme\n\n# churned\nglobex  # big\nacme\n')).toEqual(['acme', 'globex']);
  });
  it('reads a JSON array', () => {
    expect(parseTenantList('["a","b","a"]')).toEqual(['a', 'b']);
    expect(() => parseTenantList('[1,2]')).toThrow(/tenant ids/);
  });
});
