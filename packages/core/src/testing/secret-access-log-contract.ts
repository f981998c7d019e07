import { describe, expect, it } from 'vitest';
import type { SecretAccess, SecretAccessLog } from '../ports.js';
import type { Create } from './create.js';

/** A log to test, and how to read back what it recorded for requests whose id starts with `requestPrefix`. */
export interface SecretAccessLogUnderTest {
  log: SecretAccessLog;
  read(requestPrefix: string): Promise<SecretAccess[]>;
}

const access = (requestId: string, overrides: Partial<SecretAccess> = {}): SecretAccess => ({
  actor: 'token:tok_1',
  tokenId: 'tok_1',
  namespace: 'shelfwise',
  environment: 'prod',
  tenant: 'acme',
  name: 'stripe.api_key',
  version: 3,
  ip: '203.0.113.7',
  userAgent: 'contract/1.0',
  requestId,
  ...overrides,
});

/** Behaviour every SecretAccessLog must have, run against each implementation. */
export const secretAccessLogContract = (name: string, create: Create<SecretAccessLogUnderTest>) =>
  describe(`SecretAccessLog contract: ${name}`, () => {
    it('keeps every field of every read, nulls included, in the order recorded', async () => {
      const { log, read } = await create();
      const prefix = `req-${Math.random().toString(36).slice(2)}-`;
      const first = access(`${prefix}1`);
      const second = access(`${prefix}2`, { actor: 'admin', tokenId: null, tenant: null, ip: null, userAgent: null });
      await log.record(first);
      await log.record(second);
      expect(await read(prefix)).toEqual([first, second]);
    });

    it('loses none of many concurrent reads', async () => {
      const { log, read } = await create();
      const prefix = `req-${Math.random().toString(36).slice(2)}-`;
      await Promise.all(Array.from({ length: 20 }, (_, i) => log.record(access(`${prefix}${i}`, { version: i + 1 }))));
      const recorded = await read(prefix);
      expect(recorded.map((a) => a.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });
  });
