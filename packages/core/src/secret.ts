/**
 * A secret value that will not leak by accident: string conversion, JSON, `util.inspect`/
 * `console.log` and template literals all print `[redacted]`. Only `reveal()` gives the plaintext,
 * so every place that needs it is greppable.
 */
export class Secret {
  static readonly redacted = '[redacted]';
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Compares without revealing either side to a caller. */
  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return Secret.redacted;
  }

  toJSON(): string {
    return Secret.redacted;
  }

  valueOf(): string {
    return Secret.redacted;
  }

  [Symbol.toPrimitive](): string {
    return Secret.redacted;
  }

  // Symbol.for keeps core free of `node:util` while still hooking console.log/util.inspect.
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${Secret.redacted})`;
  }

  get [Symbol.toStringTag](): string {
    return 'Secret';
  }
}

export const isSecret = (value: unknown): value is Secret => value instanceof Secret;
