import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type DependencyList,
} from 'react';
import { fold, initialState, type NamespaceEnvState, type RecordedEvent } from '@strata/core';
import type { z } from 'zod';
import type { EventsQuery, HistoryEvent, Scope, StrataApi, TokenSelf } from '@strata/contracts';

/**
 * The console's picture of one namespace: its whole history (for callers who may read it), folded
 * with @strata/core into the selected environment's state, so the who-flips preview, the rollout
 * chart and the ages of values are computed in the browser exactly as the server computes them.
 * It follows the log live: the change stream (StrataApi's follower) for callers who may read
 * config, else polling `?after=`.
 */

export interface Session {
  client: StrataApi;
  who: TokenSelf;
  can: (permission: string) => boolean;
  signOut: () => void;
}
export const SessionContext = createContext<Session | null>(null);
export const useSession = (): Session => {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
};

export interface ScopeChoice {
  namespace: string;
  env: string;
  /** '' = environment layer. */
  tenant: string;
}

/** The chosen scope as the API takes it: no tenant means the environment layer. */
export const apiScope = ({ namespace, env, tenant }: ScopeChoice): Scope => ({
  namespace,
  env,
  tenant: tenant || null,
});

export type LiveMode = 'stream' | 'polling' | 'off';

export interface NamespaceModel {
  scope: ScopeChoice;
  loading: boolean;
  error: string | null;
  /** Every event of the namespace (all environments), oldest first; empty without history:read. */
  events: HistoryEvent[];
  /** The namespace has more history than the browser folds: the state may be incomplete. */
  truncated: boolean;
  /** The selected environment folded from `events`. */
  state: NamespaceEnvState;
  head: number;
  environments: string[];
  /** Tenants that appear in the selected environment's history. */
  tenants: string[];
  live: LiveMode;
  /** Bumped on every change seen live, so views without history can refetch. */
  changeCount: number;
  reload: () => void;
  recordedAtOf: (position: number) => string | undefined;
}

export const ModelContext = createContext<NamespaceModel | null>(null);
export const useModel = (): NamespaceModel => {
  const model = useContext(ModelContext);
  if (!model) throw new Error('useModel outside its provider');
  return model;
};

/** How much history the browser folds; past it the console says its previews may be incomplete. */
export const historyCap = 200_000;

/** Every page of a history query (at most `max` events). */
export const loadAllEvents = async (
  client: StrataApi,
  query: Partial<z.output<typeof EventsQuery>>,
  signal?: AbortSignal,
  max = historyCap,
): Promise<HistoryEvent[]> => {
  const all: HistoryEvent[] = [];
  let after = query.after ?? 0;
  for (;;) {
    const page = await client.events({ ...query, after, limit: 1000 });
    if (signal?.aborted) return all;
    all.push(...page.events);
    if (page.next === null || all.length >= max) return all;
    after = page.next;
  }
};

export const useNamespaceModel = (session: Session, scope: ScopeChoice): NamespaceModel => {
  const { client, can } = session;
  const history = can('history:read');
  const [events, setEvents] = useState<HistoryEvent[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const [changeCount, setChangeCount] = useState(0);
  const headRef = useRef(0);
  // Past the cap the console keeps the oldest events and stops appending (views still refetch).
  const truncatedRef = useRef(false);
  const { namespace, env } = scope;

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  useEffect(() => {
    if (!history || !namespace) {
      setEvents([]);
      headRef.current = 0;
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    setError(null);
    loadAllEvents(client, { namespace }, abort.signal)
      .then((all) => {
        headRef.current = all.at(-1)?.position ?? 0;
        truncatedRef.current = all.length >= historyCap;
        setEvents(all);
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError((e as Error).message);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [client, history, namespace, generation]);

  // The change stream answers callers who may read config; others with history poll the log.
  const live: LiveMode = !namespace || !env ? 'off' : can('config:read') ? 'stream' : history ? 'polling' : 'off';

  // Follow the log: append what came after the last event held.
  useEffect(() => {
    if (live === 'off') return;
    const abort = new AbortController();
    let fetching = false;
    const catchUp = async () => {
      if (fetching) return;
      fetching = true;
      try {
        if (history && !truncatedRef.current) {
          const fresh = await loadAllEvents(client, { namespace, after: headRef.current }, abort.signal);
          if (fresh.length > 0) {
            headRef.current = fresh.at(-1)!.position;
            setEvents((old) => [...old, ...fresh.filter((e) => e.position > (old.at(-1)?.position ?? 0))]);
            setChangeCount((c) => c + 1);
          }
        } else setChangeCount((c) => c + 1);
      } catch {
        // the next notice or poll tries again
      } finally {
        fetching = false;
      }
    };
    if (live === 'polling') {
      const timer = setInterval(() => void catchUp(), 1500);
      return () => {
        abort.abort();
        clearInterval(timer);
      };
    }
    const follower = client.follow(
      { namespace, env },
      { after: headRef.current, onChange: () => void catchUp(), onResync: () => reload() },
    );
    return () => {
      abort.abort();
      void follower.close();
    };
  }, [client, history, live, namespace, env, reload]);

  return useMemo(() => {
    const state = fold(initialState(namespace, env), events as unknown as RecordedEvent[]);
    const environments = new Set<string>();
    const tenants = new Set<string>();
    const times = new Map<number, string>();
    for (const e of events) {
      times.set(e.position, e.recordedAt);
      const d = e.data as { environment?: unknown; tenant?: unknown };
      if (typeof d.environment === 'string') environments.add(d.environment);
      if (d.environment === env && typeof d.tenant === 'string') tenants.add(d.tenant);
    }
    return {
      scope,
      loading,
      error,
      events,
      state,
      head: events.at(-1)?.position ?? 0,
      truncated: events.length >= historyCap,
      environments: [...environments].sort(),
      tenants: [...tenants].sort(),
      live,
      changeCount,
      reload,
      recordedAtOf: (position: number) => times.get(position),
    };
  }, [scope, events, namespace, env, loading, error, live, changeCount, reload]);
};

/**
 * The answer of `load` (null until the first one), loaded again whenever `deps` change; null
 * `load` loads nothing. An answer that arrives after the next load started (or after unmount) is
 * dropped, so a slow old answer never replaces a newer one. `delayMs` debounces: a load starts once
 * `deps` stayed the same that long. `onAnswer` runs with each answer kept.
 */
export const useAnswer = <T>(
  load: (() => Promise<T>) | null,
  deps: DependencyList,
  { delayMs = 0, onAnswer }: { delayMs?: number; onAnswer?: (answer: T) => void } = {},
): { answer: T | null; error: unknown } => {
  const [answer, setAnswer] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!load) return;
    let stale = false;
    const run = () =>
      void load().then(
        (fresh) => {
          if (stale) return;
          setAnswer(fresh);
          setError(null);
          onAnswer?.(fresh);
        },
        (e: unknown) => !stale && setError(e),
      );
    const timer = delayMs > 0 ? setTimeout(run, delayMs) : undefined;
    if (timer === undefined) run();
    return () => {
      stale = true;
      clearTimeout(timer);
    };
    // `deps` stand for what `load` reads.
  }, deps);
  return { answer, error };
};

/**
 * `useAnswer` for the selected scope (a tenant, or the environment layer without one): loaded
 * again when the scope changes, when `deps` change, and on every change the model sees live.
 */
export const useScopeAnswer = <T>(
  load: (client: StrataApi, scope: Scope) => Promise<T>,
  deps: DependencyList,
  options?: { onAnswer?: (answer: T) => void },
): { answer: T | null; error: unknown } => {
  const { client } = useSession();
  const { scope, changeCount } = useModel();
  const { namespace, env, tenant } = scope;
  return useAnswer(
    () => load(client, apiScope(scope)),
    [client, namespace, env, tenant, changeCount, ...deps],
    options,
  );
};

/** Moving between sections with a chosen moment (History → Time travel / Revert). */
export interface Navigation {
  go: (path: string) => void;
  /** A log position picked elsewhere for the next section to start from. */
  picked: number | null;
  pick: (position: number | null) => void;
}
export const NavContext = createContext<Navigation>({ go: () => undefined, picked: null, pick: () => undefined });
export const useNav = (): Navigation => useContext(NavContext);
