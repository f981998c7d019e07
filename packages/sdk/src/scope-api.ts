import { StrataApi } from '@strata/contracts';
import { Secret, StrataError, isStrataError } from '@strata/core';

/**
 * What a client asks the HTTP API for one scope: secrets (plaintext never cached) and the
 * position `waitFor` must wait for. The API client is made on first use: a client without
 * `apiUrl` and `token` never needs one.
 */
export class ScopeApi {
  private api: StrataApi | undefined;

  constructor(private readonly options: { namespace: string; environment: string; apiUrl?: string; token?: string }) {}

  /** Rejects with a StrataError: the server's code (401 stays UNAUTHENTICATED …), with the name. */
  async getSecret(name: string, tenant: string | undefined): Promise<Secret> {
    const api = this.client();
    if (!api) throw new StrataError('BAD_REQUEST', 'strata: getSecret needs apiUrl and token');
    try {
      const answer = await api.getSecret(
        { namespace: this.options.namespace, env: this.options.environment, tenant },
        name,
      );
      return new Secret(answer.value);
    } catch (error) {
      if (!isStrataError(error)) throw error;
      throw new StrataError(
        error.code,
        `strata: secret ${name}: ${error.message}`,
        { ...error.details, name },
        {
          cause: error,
        },
      );
    }
  }

  /**
   * The position this scope's views must reach to reflect every event up to `position`: the
   * API's view position once it answered `?minPosition=position` (never above `position`), or
   * `position` when no API is configured or it cannot say.
   */
  async scopePosition(position: number, timeoutMs: number): Promise<number> {
    const api = this.client();
    if (!api) return position;
    try {
      const answer = await api.resolvedConfig(
        { namespace: this.options.namespace, env: this.options.environment },
        { minPosition: position, signal: AbortSignal.timeout(timeoutMs) },
      );
      return Math.min(position, answer.position);
    } catch {
      // The API is optional for reads: without its answer, wait for the position itself.
      return position;
    }
  }

  private client(): StrataApi | undefined {
    const { apiUrl, token } = this.options;
    if (!apiUrl || !token) return undefined;
    return (this.api ??= new StrataApi({ url: apiUrl, token }));
  }
}
