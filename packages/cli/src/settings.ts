import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { yaml } from './yaml.js';
import { CliError, usageError } from './cli-error.js';

/**
 * Where the CLI finds its server, credential and default scope. Precedence, highest first:
 * command-line flags, the profile named by `--profile`/`STRATA_PROFILE`, environment variables
 * (`STRATA_URL`, `STRATA_TOKEN`, `STRATA_NAMESPACE`, `STRATA_ENV`), the profile called `default`,
 * built-in defaults. An explicitly chosen profile beats ambient environment variables so that
 * `--profile prod` never silently talks to whatever `STRATA_URL` a shell still exports.
 */

export interface GlobalOptions {
  url?: string;
  token?: string;
  profile?: string;
  namespace?: string;
  env?: string;
  json?: boolean;
}

export interface Profile {
  url?: string;
  token?: string;
  namespace?: string;
  env?: string;
}

export interface Settings {
  url: string;
  token: string | undefined;
  namespace: string | undefined;
  env: string | undefined;
  json: boolean;
}

export const defaultUrl = 'http://127.0.0.1:8080';

export const profilesPath = (env: NodeJS.ProcessEnv): string =>
  join(env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config'), 'strata', 'profiles.yaml');

/** Profiles file: `{ profiles: { name: {url, token, namespace, env} } }` or the map at the top level. */
export const parseProfiles = (text: string, path: string): Record<string, Profile> => {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (error) {
    throw new CliError(`${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return {};
  const root = (doc as { profiles?: unknown }).profiles ?? doc;
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new CliError(`${path}: expected a map of profiles`);
  const profiles: Record<string, Profile> = {};
  for (const [name, raw] of Object.entries(root)) {
    if (typeof raw !== 'object' || raw === null) throw new CliError(`${path}: profile ${name} must be a map`);
    const profile: Profile = {};
    for (const field of ['url', 'token', 'namespace', 'env'] as const) {
      const v =
        (raw as Record<string, unknown>)[field] ??
        (field === 'env' ? (raw as Record<string, unknown>)['environment'] : undefined);
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw new CliError(`${path}: profile ${name}: ${field} must be a string`);
      profile[field] = v;
    }
    profiles[name] = profile;
  }
  return profiles;
};

const readIfExists = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
};

export const resolveSettings = (
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string | undefined = readIfExists,
): Settings => {
  const path = profilesPath(env);
  const chosen = options.profile ?? env['STRATA_PROFILE'];
  const text = readFile(path);
  const profiles = text === undefined ? {} : parseProfiles(text, path);
  let explicit: Profile = {};
  if (chosen) {
    const found = profiles[chosen];
    if (!found) {
      const known = Object.keys(profiles);
      throw usageError(
        text === undefined
          ? `profile ${chosen}: ${path} does not exist`
          : `profile ${chosen} is not in ${path}${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    explicit = found;
  }
  const fallback = profiles['default'] ?? {};
  const pick = (flag: string | undefined, field: keyof Profile, variable: string): string | undefined =>
    flag ?? explicit[field] ?? (env[variable] || undefined) ?? fallback[field];
  const url = pick(options.url, 'url', 'STRATA_URL') ?? defaultUrl;
  try {
    new URL(url);
  } catch {
    throw usageError(`--url ${url} is not a URL`);
  }
  return {
    url,
    token: pick(options.token, 'token', 'STRATA_TOKEN'),
    namespace: pick(options.namespace, 'namespace', 'STRATA_NAMESPACE'),
    env: pick(options.env, 'env', 'STRATA_ENV'),
    json: options.json === true,
  };
};
