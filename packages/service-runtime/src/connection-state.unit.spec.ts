import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffMs, ConnectionState } from './connection-state.js';
import { createLogger } from './logger.js';

const recorder = () => {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ service: 't', destination: { write: (line) => lines.push(JSON.parse(line)) } });
  return { lines, state: new ConnectionState(logger, 'kafka') };
};

describe('ConnectionState', () => {
  afterEach(() => vi.useRealTimers());

  it('logs one warning per outage and one info when it ends, however many failures come in between', () => {
    const { lines, state } = recorder();
    expect(state.connected).toBe(false);
    state.restored();
    expect(state.connected).toBe(true);
    expect(lines).toEqual([]);
    for (let i = 0; i < 50; i++) state.lost(new Error('Connection error: connect ECONNREFUSED'));
    expect(state.connected).toBe(false);
    for (let i = 0; i < 5; i++) state.restored();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'kafka connection lost; retrying'],
      ['info', 'kafka connection restored'],
    ]);
    expect(lines[1]).toMatchObject({ suppressedFailures: 49 });
  });

  it('an outage that goes on is said again, spaced out: 1, 2, 4, 8 min, then every 10 min', () => {
    vi.useFakeTimers();
    const { lines, state } = recorder();
    // A client retrying every second through a broker that stays away for an hour.
    for (let second = 0; second < 3600; second++) {
      state.lost(new Error('connect ECONNREFUSED'));
      vi.advanceTimersByTime(1_000);
    }
    state.restored();
    expect(lines.map((l) => l.msg)).toEqual([
      'kafka not reachable yet; retrying',
      'kafka still not reachable after 60 s; retrying',
      'kafka still not reachable after 180 s; retrying',
      'kafka still not reachable after 420 s; retrying',
      'kafka still not reachable after 900 s; retrying',
      'kafka still not reachable after 1500 s; retrying',
      'kafka still not reachable after 2100 s; retrying',
      'kafka still not reachable after 2700 s; retrying',
      'kafka still not reachable after 3300 s; retrying',
      'kafka connection restored',
    ]);
    expect(lines[1]).toMatchObject({ level: 'warn', downMs: 60_000, suppressedFailures: 60 });
    expect(lines.at(-1)).toMatchObject({ downMs: 3_600_000, suppressedFailures: 3599 });
    // The next outage (past the relapse window) starts its reminders from 1 min again.
    vi.advanceTimersByTime(60_000);
    lines.length = 0;
    for (let second = 0; second <= 60; second++) {
      state.lost('down');
      vi.advanceTimersByTime(1_000);
    }
    expect(lines.map((l) => l.msg)).toEqual([
      'kafka connection lost; retrying',
      'kafka still not reachable after 60 s; retrying',
    ]);
  });

  it('a failure before the first success says "not reachable yet"', () => {
    const { lines, state } = recorder();
    state.lost('no broker');
    state.restored();
    expect(lines.map((l) => l.msg)).toEqual(['kafka not reachable yet; retrying', 'kafka connection restored']);
  });

  it('a dependency that answers but is still settling says so, not "connection lost"', () => {
    vi.useFakeTimers();
    const lines: { msg: string }[] = [];
    const logger = createLogger({ service: 't', destination: { write: (line) => lines.push(JSON.parse(line)) } });
    const state = new ConnectionState(logger, 'kafka', (reason) => reason.includes('loading'));
    state.restored();
    state.lost(new Error("The coordinator is loading and hence can't process requests"));
    state.restored();
    vi.advanceTimersByTime(60_000);
    state.lost(new Error('connect ECONNREFUSED'));
    state.restored();
    expect(lines.map((l) => l.msg)).toEqual([
      'kafka answers but is not ready yet; retrying',
      'kafka ready',
      'kafka connection lost; retrying',
      'kafka connection restored',
    ]);
  });

  it('a relapse right after the recovery is the same outage; one that lasts past the window is a new one', () => {
    vi.useFakeTimers();
    const { lines, state } = recorder();
    state.restored();
    state.lost('down');
    state.restored();
    vi.advanceTimersByTime(200);
    state.lost('coordinator loading');
    expect(state.connected).toBe(false);
    state.restored();
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    state.lost('down again');
    vi.advanceTimersByTime(10_000);
    state.lost('still down');
    expect(lines.map((l) => l.msg)).toEqual([
      'kafka connection lost; retrying',
      'kafka connection restored',
      'kafka connection lost; retrying',
    ]);
  });
});

describe('backoffMs', () => {
  it('doubles from the initial delay, with jitter, and stays under the cap', () => {
    for (let i = 0; i < 100; i++) {
      expect(backoffMs(1, 100, 1_000)).toBeGreaterThanOrEqual(80);
      expect(backoffMs(1, 100, 1_000)).toBeLessThanOrEqual(120);
      expect(backoffMs(3, 100, 1_000)).toBeGreaterThanOrEqual(320);
      expect(backoffMs(20, 100, 1_000)).toBeLessThanOrEqual(1_000);
    }
  });
});
