import { fold, initialState, type DefinedManifest, type NamespaceEnvState, type RecordedEvent } from '@strata/core';
import { StateModel } from './state-model.js';
import type { ClientSink } from './client-driver.js';
import { StrataClient, type ClientBaseOptions } from './strata-client.js';

export interface InMemoryClient<M extends DefinedManifest> extends StrataClient<M> {
  /** Folds more events in and notifies like a live client would (listeners get no per-key events). */
  apply(events: readonly RecordedEvent[]): void;
}

/**
 * A client over a state folded from events in memory: the same reads, flags and provider mapping
 * as the Redis client, for unit tests of services and of the OpenFeature provider.
 */
export const createInMemoryClient = <const M extends DefinedManifest = DefinedManifest>(
  options: ClientBaseOptions<M> & { events?: readonly RecordedEvent[] },
): InMemoryClient<M> => {
  let state: NamespaceEnvState = fold(initialState(options.namespace, options.environment), options.events ?? []);
  let sink: ClientSink | undefined;
  const model = new StateModel(() => state);
  const client = new StrataClient<M>(options, {
    model,
    start: async (s) => {
      sink = s;
      s.confirmed(state.position);
    },
    poke: () => undefined,
    close: async () => undefined,
    envVarErrors: () => [],
  }) as InMemoryClient<M>;
  client.apply = (events) => {
    state = fold(state, events);
    sink?.invalidate();
    sink?.changed([], state.position, 0);
  };
  return client;
};
