import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { StrataApi } from '@strata/contracts';
import {
  ModelContext,
  NavContext,
  SessionContext,
  useNamespaceModel,
  type ScopeChoice,
  type Session,
} from './model.js';
import { errorText } from './format.js';
import { ErrorBox, Field, SecretInput } from './ui.js';
import { ConfigView } from './views/config.js';
import { FlagsView } from './views/flags.js';
import { HistoryView } from './views/history.js';
import { RevertView } from './views/revert.js';
import { SecretsView } from './views/secrets.js';
import { SystemView } from './views/system.js';
import { TimeTravelView } from './views/time-travel.js';

/** The token lives in session storage only: gone when the tab closes, never in a URL. */
const tokenKey = 'strata.console.token';
const scopeKey = 'strata.console.scope';

interface Page {
  path: string;
  title: string;
  /** Shown when the role holds any of these. */
  needs: string[];
  render: () => React.ReactNode;
}

const pages: Page[] = [
  { path: 'config', title: 'Config', needs: ['config:read'], render: () => <ConfigView /> },
  { path: 'flags', title: 'Flags', needs: ['config:read'], render: () => <FlagsView /> },
  { path: 'secrets', title: 'Secrets', needs: ['secret:list'], render: () => <SecretsView /> },
  { path: 'history', title: 'History', needs: ['history:read'], render: () => <HistoryView /> },
  { path: 'time-travel', title: 'Time travel & diff', needs: ['history:read'], render: () => <TimeTravelView /> },
  { path: 'revert', title: 'Revert', needs: ['revert'], render: () => <RevertView /> },
  { path: 'system', title: 'System', needs: ['projections', 'history:verify'], render: () => <SystemView /> },
];

const base = '/console/';
const pathPage = () => window.location.pathname.replace(/^\/console\/?/, '').split('/')[0] ?? '';

export const App = () => {
  const [session, setSession] = useState<Session | null>(null);
  const [starting, setStarting] = useState(() => sessionStorage.getItem(tokenKey) !== null);

  const signIn = useCallback(async (token: string) => {
    const client = new StrataApi({ url: window.location.origin, token });
    const who = await client.self();
    sessionStorage.setItem(tokenKey, token);
    const permissions = new Set(who.permissions);
    setSession({
      client,
      who,
      can: (p) => permissions.has(p),
      signOut: () => {
        sessionStorage.removeItem(tokenKey);
        setSession(null);
      },
    });
  }, []);

  // A reload of the tab keeps the session: sign in again with the stored token.
  useEffect(() => {
    const stored = sessionStorage.getItem(tokenKey);
    if (stored === null) return;
    signIn(stored)
      .catch(() => sessionStorage.removeItem(tokenKey))
      .finally(() => setStarting(false));
  }, [signIn]);

  if (starting) return <p className="status">Signing in…</p>;
  if (!session) return <SignIn onSignIn={signIn} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
};

const SignIn = ({ onSignIn }: { onSignIn: (token: string) => Promise<void> }) => {
  // Uncontrolled on purpose: React mirrors a controlled input's value into its `value` attribute,
  // which would put the token into the page's markup.
  const [filled, setFilled] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const token = String(new FormData(event.currentTarget).get('token') ?? '').trim();
    if (!token) return;
    setBusy(true);
    setError(null);
    onSignIn(token)
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  return (
    <main className="sign-in">
      <h1>Strata console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <Field
          label="API token"
          hint="Kept in this tab's session storage only; the console shows what the token's role may do."
          error={error}
        >
          {(props) => <SecretInput {...props} name="token" onText={(text) => setFilled(text.trim() !== '')} />}
        </Field>
        <button type="submit" disabled={busy || !filled}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
};

const initialScope = (session: Session): ScopeChoice => {
  const stored = sessionStorage.getItem(scopeKey);
  const parsed = stored ? (JSON.parse(stored) as Partial<ScopeChoice>) : {};
  return {
    namespace: session.who.namespace ?? parsed.namespace ?? '',
    env: session.who.env ?? parsed.env ?? '',
    tenant: session.who.tenant ?? parsed.tenant ?? '',
  };
};

const Shell = ({ session }: { session: Session }) => {
  const { who, can, client } = session;
  const visible = pages.filter((p) => p.needs.some(can));
  const [page, setPage] = useState(() => pathPage());
  const [scope, setScope] = useState<ScopeChoice>(() => initialScope(session));
  const [namespaces, setNamespaces] = useState<string[]>([]);
  const [nsError, setNsError] = useState<unknown>(null);
  const current = visible.find((p) => p.path === page) ?? visible[0];

  useEffect(() => {
    const onPop = () => setPage(pathPage());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => sessionStorage.setItem(scopeKey, JSON.stringify(scope)), [scope]);

  // Namespaces are known from their manifests, for callers who may read the history.
  useEffect(() => {
    if (!can('history:read') || who.namespace !== null) return;
    client
      .events({ type: 'ManifestPublished', limit: 1000 })
      .then((page) => {
        const names = [...new Set(page.events.map((e) => String(e.data['namespace'])))].sort();
        setNamespaces(names);
        setScope((s) => (s.namespace || names.length === 0 ? s : { ...s, namespace: names[0]! }));
      })
      .catch(setNsError);
  }, [client, can, who.namespace]);

  const model = useNamespaceModel(session, scope);
  useEffect(() => {
    if (!scope.env && model.environments.length > 0) setScope((s) => ({ ...s, env: model.environments[0]! }));
  }, [model.environments, scope.env]);

  const [picked, pick] = useState<number | null>(null);
  const go = useCallback((path: string) => {
    window.history.pushState(null, '', `${base}${path}`);
    setPage(path);
    document.getElementById('main')?.focus();
  }, []);
  const nav = useMemo(() => ({ go, picked, pick }), [go, picked]);

  const scopeText = [who.namespace ?? '*', who.env ?? '*', who.tenant ?? '*'].join('/');
  const fixed = { namespace: who.namespace !== null, env: who.env !== null, tenant: who.tenant !== null };
  const ready = scope.namespace !== '' && scope.env !== '';

  return (
    <ModelContext.Provider value={model}>
      <NavContext.Provider value={nav}>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <h1>Strata console</h1>
          <p className="who" data-testid="who">
            Signed in as <strong>{who.subject}</strong> · role <strong>{who.role}</strong> · scope {scopeText}
          </p>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </header>
        <form className="scope" aria-label="Scope" onSubmit={(e) => e.preventDefault()}>
          <SuggestField
            label="Namespace"
            listId="namespaces"
            options={namespaces}
            value={scope.namespace}
            disabled={fixed.namespace}
            onChange={(namespace) => setScope({ namespace, env: '', tenant: fixed.tenant ? scope.tenant : '' })}
          />
          <SuggestField
            label="Environment"
            listId="environments"
            options={model.environments}
            value={scope.env}
            disabled={fixed.env}
            onChange={(env) => setScope({ ...scope, env })}
          />
          <SuggestField
            label="Tenant"
            hint="Empty: the environment layer"
            listId="tenants"
            options={model.tenants}
            value={scope.tenant}
            disabled={fixed.tenant}
            spellCheck={false}
            onChange={(tenant) => setScope({ ...scope, tenant: tenant.trim() })}
          />
          <p className="live" data-testid="live">
            {model.live === 'stream'
              ? '● Live: change stream'
              : model.live === 'polling'
                ? '● Live: polling the log'
                : '○ Not live'}{' '}
            · head {model.head || '—'}
          </p>
        </form>
        <ErrorBox error={nsError} />
        {model.truncated && (
          <p className="error" role="alert">
            ⚠ This namespace has more than {model.events.length} events: the console holds only the oldest ones, so its
            flag previews and ages may be incomplete. Reads, time travel, diff and revert still come from the API.
          </p>
        )}
        <div className="layout">
          <nav aria-label="Console sections">
            <ul>
              {visible.map((p) => (
                <li key={p.path}>
                  <a
                    href={`${base}${p.path}`}
                    aria-current={p === current ? 'page' : undefined}
                    onClick={(e) => {
                      e.preventDefault();
                      go(p.path);
                    }}
                  >
                    {p.title}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <main id="main" tabIndex={-1}>
            {!current ? (
              <p>This token&apos;s role ({who.role}) has nothing to show here.</p>
            ) : !ready && current.path !== 'system' ? (
              <p className="hint">Choose a namespace and an environment above.</p>
            ) : (
              <PageFrame key={`${current.path}`} title={current.title}>
                {current.render()}
              </PageFrame>
            )}
          </main>
        </div>
      </NavContext.Provider>
    </ModelContext.Provider>
  );
};

/** A scope input with suggestions; the datalist's id is also what other sections' inputs suggest from. */
const SuggestField = ({
  label,
  hint,
  listId,
  options,
  value,
  disabled,
  spellCheck,
  onChange,
}: {
  label: string;
  hint?: string;
  listId: string;
  options: readonly string[];
  value: string;
  disabled: boolean;
  spellCheck?: boolean;
  onChange: (value: string) => void;
}) => (
  <>
    <Field label={label} {...(hint ? { hint } : {})}>
      {(props) => (
        <input
          {...props}
          list={listId}
          value={value}
          disabled={disabled}
          spellCheck={spellCheck}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
    <datalist id={listId}>
      {options.map((o) => (
        <option key={o} value={o} />
      ))}
    </datalist>
  </>
);

const PageFrame = ({ title, children }: { title: string; children: React.ReactNode }) => {
  useMemo(() => (document.title = `${title} · Strata console`), [title]);
  return (
    <section aria-labelledby="page-title">
      <h2 id="page-title">{title}</h2>
      {children}
    </section>
  );
};
