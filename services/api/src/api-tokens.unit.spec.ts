import { describe, expect, it } from 'vitest';
import { InMemoryTokenStore } from '@strata/core';
import { ApiTokens } from './api-tokens.js';

const clock = { now: () => new Date() };
const newTokens = () => {
  const store = new InMemoryTokenStore(clock);
  return { store, tokens: new ApiTokens(store, 'bootstrap-admin-token-0123456789', null) };
};
const reader = { role: 'reader' as const, namespace: 'shop', environment: 'prod', tenant: null, description: null };

describe('ApiTokens over the in-memory TokenStore', () => {
  it('authenticates an issued token, then answers it from memory without the store', async () => {
    const { store, tokens } = newTokens();
    const { record, token } = await tokens.issue({ ...reader, createdBy: 'admin', expiresAt: null });
    expect(token).toMatch(/^strata_[A-Za-z0-9_-]{43}$/);
    expect(await tokens.authenticate(token)).toEqual({
      principal: {
        subject: `token:${record.id}`,
        tokenId: record.id,
        role: 'reader',
        namespace: 'shop',
        environment: 'prod',
        tenant: null,
        expiresAt: null,
      },
    });
    expect(tokens.known(token)).toEqual(await tokens.authenticate(token));
    // The store holds only the hash: the token itself is nowhere in it.
    expect(JSON.stringify(await store.list({ includeRevoked: true }))).not.toContain(token);
  });

  it('refuses unknown, expired and revoked tokens with the reason the 401 names', async () => {
    const { store, tokens } = newTokens();
    expect(await tokens.authenticate('strata_nope')).toEqual({
      refused: 'unknown or revoked token',
      reason: 'unknown',
    });
    const expired = await tokens.issue({
      ...reader,
      createdBy: 'admin',
      expiresAt: new Date(Date.now() + 50).toISOString(),
    });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await tokens.authenticate(expired.token)).toMatchObject({ reason: 'expired' });
    const revoked = await tokens.issue({ ...reader, createdBy: 'admin', expiresAt: null });
    expect(await tokens.authenticate(revoked.token)).toHaveProperty('principal');
    await tokens.revoke(revoked.record.id, 'admin');
    // Revoked here: forgotten at once, not after the cache TTL.
    expect(tokens.known(revoked.token)).toBeUndefined();
    expect(await tokens.authenticate(revoked.token)).toMatchObject({ reason: 'unknown' });
    expect((await store.list({ id: revoked.record.id }))[0]?.revokedAt).not.toBeNull();
  });

  it('rotates: the successor works at once, the predecessor until its grace ends', async () => {
    const { tokens } = newTokens();
    const old = await tokens.issue({ ...reader, createdBy: 'admin', expiresAt: null });
    await tokens.authenticate(old.token);
    const until = new Date(Date.now() + 60_000);
    const rotated = await tokens.rotate(old.record.id, {
      previousValidUntil: until,
      expiresAt: null,
      createdBy: 'ops',
    });
    expect(rotated.previous).toMatchObject({
      id: old.record.id,
      rotatedTo: rotated.record.id,
      expiresAt: until.toISOString(),
    });
    expect(rotated.record).toMatchObject({ role: 'reader', namespace: 'shop', createdBy: 'ops' });
    expect(await tokens.authenticate(rotated.token)).toHaveProperty('principal.tokenId', rotated.record.id);
    expect(await tokens.authenticate(old.token)).toHaveProperty('principal.expiresAt', until.toISOString());
  });

  it('knows the bootstrap admin token without asking the store', async () => {
    const { tokens } = newTokens();
    expect(await tokens.authenticate('bootstrap-admin-token-0123456789')).toMatchObject({
      principal: { subject: 'admin', role: 'admin', tokenId: null },
    });
  });
});
