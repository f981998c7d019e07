export { generateMasterKey, Keyring, masterKidPattern } from './keyring.js';
export {
  decryptSecret,
  encryptSecret,
  secretAad,
  type Kek,
  type KekResolver,
  type SecretAad,
} from './encrypt-secret.js';
export type { KeyStore } from './key-store.js';
export { keyChangesChannel, PostgresKeyStore, type PostgresKeyStoreOptions } from './postgres-key-store.js';
export { InMemoryKeyStore } from './in-memory-key-store.js';
export { SecretCipher, type SealSecret } from './secret-cipher.js';
