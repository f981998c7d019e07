import { expect, test } from 'vitest';
import { generateMasterKey } from '@strata/crypto';
import { loadConfig } from './config.js';
import { permissionsOf, roles } from './access-policy.js';
import { statusOf } from './problem.js';

test('production refuses to start without explicit master keys and admin token', () => {
  expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/STRATA_MASTER_KEYS and STRATA_ADMIN_TOKEN/);
  expect(() => loadConfig({ STRATA_MODE: 'production', STRATA_MASTER_KEYS: generateMasterKey('k1') })).toThrow(
    /STRATA_ADMIN_TOKEN/,
  );
  expect(() =>
    loadConfig({
      STRATA_MODE: 'production',
      STRATA_MASTER_KEYS: generateMasterKey('k1'),
      STRATA_ADMIN_TOKEN: 'dev-admin-token',
    }),
  ).toThrow(/dev admin token/);
  const ok = loadConfig({
    NODE_ENV: 'production',
    STRATA_MASTER_KEYS: generateMasterKey('k1'),
    STRATA_ADMIN_TOKEN: 'x'.repeat(32),
  });
  expect(ok.warnings).toEqual([]);
  expect(ok.keyring.activeKid).toBe('k1');
});

test('local mode: loud dev defaults and loopback', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    adminToken: 'dev-admin-token',
    port: 8080,
    host: '127.0.0.1',
    redisPrefix: 'strata:',
    production: false,
  });
  expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/strata');
  expect(config.warnings).toHaveLength(2);
  expect(config.keyring.activeKid).toBe('dev-insecure');
});

test('every role maps to permissions; every error code to a status', () => {
  for (const role of roles) expect(permissionsOf[role].size).toBeGreaterThan(0);
  expect(permissionsOf['secret-reader'].has('secret:read')).toBe(true);
  expect(permissionsOf['operator'].has('secret:read')).toBe(false);
  expect(Object.values(statusOf).every((s) => s >= 400 && s < 600)).toBe(true);
});

test('STRATA_TRUST_PROXY: off by default; a hop count or proxy addresses; true and junk refused', () => {
  expect(loadConfig({}).trustProxy).toBe(false);
  expect(loadConfig({ STRATA_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  expect(loadConfig({ STRATA_TRUST_PROXY: '2' }).trustProxy).toBe(2);
  expect(loadConfig({ STRATA_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,loopback' }).trustProxy).toEqual([
    '10.0.0.0/8',
    '192.168.1.7',
    'fd00::/8',
    'loopback',
  ]);
  expect(() => loadConfig({ STRATA_TRUST_PROXY: 'true' })).toThrow(/^STRATA_TRUST_PROXY must be false, a hop count/);
  expect(() => loadConfig({ STRATA_TRUST_PROXY: '10.0.0.0/33' })).toThrow(/STRATA_TRUST_PROXY .*got "10.0.0.0\/33"/);
  expect(() => loadConfig({ STRATA_TRUST_PROXY: 'lb.internal' })).toThrow(/STRATA_TRUST_PROXY/);
  expect(() => loadConfig({ STRATA_TRUST_PROXY: '0' })).toThrow(/hop count must be between 1 and 32/);
});
