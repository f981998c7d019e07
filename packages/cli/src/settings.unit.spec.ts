import { describe, expect, it } from 'vitest';
import { profilesPath, resolveSettings } from './settings.js';

const profiles = `
profiles:
  default: { url: "http://default:1", namespace: shelfwise }
  prod: { url: "https://strata.prod", token: prod-token, namespace: shelfwise, env: prod }
`;
const files = (text: string | undefined) => () => text;

describe('resolveSettings', () => {
  it('defaults to loopback with nothing configured', () => {
    expect(resolveSettings({}, { HOME: '/h' }, files(undefined))).toEqual({
      url: 'http://127.0.0.1:8080',
      token: undefined,
      namespace: undefined,
      env: undefined,
      json: false,
    });
  });

  it('flags beat the chosen profile, which beats environment variables, which beat the default profile', () => {
    const env = { HOME: '/h', STRATA_URL: 'http://env:2', STRATA_TOKEN: 'env-token', STRATA_ENV: 'staging' };
    expect(resolveSettings({}, env, files(profiles))).toMatchObject({
      url: 'http://env:2',
      token: 'env-token',
      namespace: 'shelfwise',
      env: 'staging',
    });
    expect(resolveSettings({ profile: 'prod' }, env, files(profiles))).toMatchObject({
      url: 'https://strata.prod',
      token: 'prod-token',
      env: 'prod',
    });
    expect(resolveSettings({ profile: 'prod', env: 'dev', token: 'flag' }, env, files(profiles))).toMatchObject({
      token: 'flag',
      env: 'dev',
    });
    expect(resolveSettings({}, { HOME: '/h', STRATA_PROFILE: 'prod' }, files(profiles))).toMatchObject({ env: 'prod' });
  });

  it('names the file and the known profiles when a profile is missing', () => {
    expect(() => resolveSettings({ profile: 'nope' }, { HOME: '/h' }, files(profiles))).toThrow(
      /profile nope is not in \/h\/.config\/strata\/profiles.yaml \(known: default, prod\)/,
    );
    expect(() => resolveSettings({ profile: 'nope' }, { HOME: '/h' }, files(undefined))).toThrow(/does not exist/);
  });

  it('accepts profiles at the top level and XDG_CONFIG_HOME', () => {
    expect(profilesPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/strata/profiles.yaml');
    expect(resolveSettings({ profile: 'p' }, { HOME: '/h' }, files('p:\n  env: qa\n'))).toMatchObject({ env: 'qa' });
  });

  it('refuses a URL that is not one', () => {
    expect(() => resolveSettings({ url: 'not a url' }, { HOME: '/h' }, files(undefined))).toThrow(/not a URL/);
  });
});
