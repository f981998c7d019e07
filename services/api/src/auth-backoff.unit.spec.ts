import { describe, expect, it } from 'vitest';
import { AuthBackoff } from './auth-backoff.js';

describe('AuthBackoff', () => {
  const clock = () => {
    let now = 1_000_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('lets a client fail `allowance` times, then doubles its wait up to the cap', () => {
    const time = clock();
    const backoff = new AuthBackoff(3, 8, time.now);
    expect([1, 2, 3].map(() => backoff.failed('a'))).toEqual([0, 0, 0]);
    expect(backoff.waitSeconds('a')).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      waits.push(backoff.failed('a'));
      expect(backoff.waitSeconds('a')).toBe(waits.at(-1));
      time.advance(waits.at(-1)! * 1000);
      expect(backoff.waitSeconds('a')).toBe(0);
    }
    expect(waits).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('keeps clients apart and forgets a client after a quiet period', () => {
    const time = clock();
    const backoff = new AuthBackoff(1, 60, time.now, 60_000);
    backoff.failed('a');
    expect(backoff.failed('a')).toBe(1);
    expect(backoff.waitSeconds('b')).toBe(0);
    expect(backoff.failed('b')).toBe(0);
    time.advance(61_000);
    expect(backoff.failed('a')).toBe(0);
  });
});
