import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StrataError, type SecretEnvelope } from '@strata/core';
import { decryptSecret, encryptSecret, secretAad, type KekResolver, type SecretAad } from './encrypt-secret.js';
import { expectStrataError } from './key-store-contract.js';

const plaintext = 'MARKER-7f3a-plaintext';
const aad: SecretAad = {
  namespace: 'shelfwise',
  environment: 'prod',
  tenant: 'acme',
  name: 'stripe.api_key',
  version: 3,
};
const kek = { id: 'tk_acme', key: randomBytes(32) };
const resolver: KekResolver = (id) => {
  if (id === kek.id) return kek.key;
  throw new StrataError('KEY_NOT_FOUND', `tenant key '${id}' does not exist`);
};
/** Nothing that would let a reader recover the secret may appear in an error. */
const forbidden = [plaintext, kek.key.toString('base64'), kek.key.toString('hex')];

const flipBit = (base64: string, byte = 0): string => {
  const bytes = Buffer.from(base64, 'base64');
  bytes[byte % bytes.length]! ^= 0x01;
  return bytes.toString('base64');
};

describe('encryptSecret / decryptSecret', () => {
  const envelope = encryptSecret({ plaintext, aad, kek });

  it('round-trips, with a well-formed envelope that holds no plaintext', async () => {
    expect(await decryptSecret(envelope, aad, resolver)).toBe(plaintext);
    expect(envelope).toMatchObject({ alg: 'AES-256-GCM', kek: 'tk_acme' });
    expect(Buffer.from(envelope.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(envelope.tag, 'base64')).toHaveLength(16);
    expect(Buffer.from(envelope.wrappedKey, 'base64')).toHaveLength(60);
    expect(JSON.stringify(envelope)).not.toContain(plaintext);
    expect(JSON.stringify(envelope)).not.toContain(Buffer.from(plaintext).toString('base64').slice(0, 12));
  });

  it('round-trips empty, unicode and environment-level (tenant null) secrets', async () => {
    for (const [text, scope] of [
      ['', aad],
      ['pässwörd 🔑 \u0000 end', aad],
      ['env-wide', { ...aad, tenant: null }],
    ] as const) {
      expect(await decryptSecret(encryptSecret({ plaintext: text, aad: scope, kek }), scope, resolver)).toBe(text);
    }
  });

  it('uses a fresh data key and IV for every encryption', () => {
    const again = encryptSecret({ plaintext, aad, kek });
    expect(again.iv).not.toBe(envelope.iv);
    expect(again.wrappedKey).not.toBe(envelope.wrappedKey);
    expect(again.ciphertext).not.toBe(envelope.ciphertext);
  });

  const tampered: [string, SecretEnvelope][] = [
    ['ciphertext', { ...envelope, ciphertext: flipBit(envelope.ciphertext, 5) }],
    ['tag', { ...envelope, tag: flipBit(envelope.tag, 15) }],
    ['iv', { ...envelope, iv: flipBit(envelope.iv, 11) }],
    ['wrappedKey iv', { ...envelope, wrappedKey: flipBit(envelope.wrappedKey, 0) }],
    ['wrappedKey body', { ...envelope, wrappedKey: flipBit(envelope.wrappedKey, 20) }],
    ['wrappedKey tag', { ...envelope, wrappedKey: flipBit(envelope.wrappedKey, 59) }],
    [
      'truncated ciphertext',
      { ...envelope, ciphertext: Buffer.from(envelope.ciphertext, 'base64').subarray(1).toString('base64') },
    ],
    ['short iv', { ...envelope, iv: Buffer.alloc(8).toString('base64') }],
    ['non-base64 tag', { ...envelope, tag: `${envelope.tag.slice(0, -2)}!=` }],
    ['swapped wrapped key', { ...envelope, wrappedKey: encryptSecret({ plaintext: 'x', aad, kek }).wrappedKey }],
    ['other alg', { ...envelope, alg: 'AES-128-GCM' as 'AES-256-GCM' }],
  ];
  it.each(tampered)('fails closed with DECRYPTION_FAILED on tampered %s', async (_, bad) => {
    await expectStrataError(decryptSecret(bad, aad, resolver), 'DECRYPTION_FAILED', forbidden);
  });

  const moved: [string, SecretAad][] = [
    ['namespace', { ...aad, namespace: 'other' }],
    ['environment', { ...aad, environment: 'staging' }],
    ['tenant', { ...aad, tenant: 'globex' }],
    ['tenant → environment level', { ...aad, tenant: null }],
    ['tenant → empty string', { ...aad, tenant: '' }],
    ['name', { ...aad, name: 'stripe.other_key' }],
    ['version', { ...aad, version: 2 }],
  ];
  it.each(moved)('fails closed with DECRYPTION_FAILED when moved to another %s', async (_, other) => {
    await expectStrataError(decryptSecret(envelope, other, resolver), 'DECRYPTION_FAILED', forbidden);
  });

  it('distinguishes scopes whose fields would concatenate alike', () => {
    expect(secretAad({ ...aad, namespace: 'a', environment: 'b/c' })).not.toBe(
      secretAad({ ...aad, namespace: 'a/b', environment: 'c' }),
    );
    expect(secretAad({ ...aad, tenant: null })).not.toBe(secretAad({ ...aad, tenant: '' }));
  });

  it('answers KEY_NOT_FOUND for an unknown KEK id, even when the envelope names another id', async () => {
    await expectStrataError(decryptSecret({ ...envelope, kek: 'tk_gone' }, aad, resolver), 'KEY_NOT_FOUND', forbidden);
  });

  it('passes KEY_SHREDDED from the resolver through', async () => {
    const shredded: KekResolver = () => {
      throw new StrataError('KEY_SHREDDED', 'tenant key has been shredded');
    };
    await expectStrataError(decryptSecret(envelope, aad, shredded), 'KEY_SHREDDED', forbidden);
  });

  it('fails closed with DECRYPTION_FAILED under the wrong key-encryption key', async () => {
    await expectStrataError(
      decryptSecret(envelope, aad, () => randomBytes(32)),
      'DECRYPTION_FAILED',
      forbidden,
    );
  });

  it('fails closed when an envelope is relabelled to another KEK id that resolves', async () => {
    const other = { id: 'tk_other', key: kek.key };
    await expectStrataError(
      decryptSecret({ ...envelope, kek: other.id }, aad, () => other.key),
      'DECRYPTION_FAILED',
      forbidden,
    );
  });
});
