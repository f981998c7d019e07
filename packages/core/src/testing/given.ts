import { expect } from 'vitest';
import { decide, type Command } from '../commands.js';
import type { ManifestDocument, NewEvent, RecordedEvent } from '../events.js';
import { fold, initialState, type NamespaceEnvState } from '../scope-state.js';
import type { StrataErrorCode } from '../errors.js';

/**
 * Records events the way the log would, and the `given([...events]).when(command).then([...events])`
 * shape for decider specs.
 */

const epoch = Date.parse('2024-01-01T00:00:00.000Z');

/** Turns new events into recorded ones at positions `from + 1…`, one minute apart. */
export const recorded = (events: readonly NewEvent[], from = 0, startMs = epoch + from * 60_000): RecordedEvent[] =>
  events.map((event, i) => ({
    ...event,
    position: from + i + 1,
    eventId: `evt-${from + i + 1}`,
    streamId: 'test',
    streamVersion: from + i + 1,
    schemaVersion: 1,
    recordedAt: new Date(startMs + i * 60_000).toISOString(),
    hash: `hash-${from + i + 1}`,
  }));

export const foldNew = (events: readonly NewEvent[], namespace = 'shop', environment = 'prod'): NamespaceEnvState =>
  fold(initialState(namespace, environment), recorded(events));

export const given = (history: readonly NewEvent[], scope = { namespace: 'shop', environment: 'prod' }) => {
  const state = foldNew(history, scope.namespace, scope.environment);
  return {
    state,
    when: (
      command: Command,
      options: { otherStates?: NamespaceEnvState[]; manifest?: ManifestDocument | null } = {},
    ) => {
      const run = () =>
        decide(command, options.otherStates ? [state, ...options.otherStates] : state, options.manifest);
      return {
        then: (expected: NewEvent[]) => expect(run()).toEqual(expected),
        thenThrows: (code: StrataErrorCode, message?: RegExp) => {
          let caught: unknown;
          try {
            run();
          } catch (error) {
            caught = error;
          }
          expect(caught).toMatchObject({ name: 'StrataError', code });
          if (message) expect((caught as Error).message).toMatch(message);
          return caught as Error & { details?: Record<string, unknown> };
        },
      };
    },
  };
};
