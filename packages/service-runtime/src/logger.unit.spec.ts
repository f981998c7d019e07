import { describe, expect, it } from 'vitest';
import { createLogger, createPinoLogger, redactedCensor } from './logger.js';

const recorder = (level?: string) => {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  return { lines, destination, level };
};

describe('createLogger', () => {
  it("writes pino's line shape: string level, ISO time, service, msg, fields; children add theirs", () => {
    const { lines, destination } = recorder();
    const logger = createLogger({ service: 'relay', destination });
    logger.child({ component: 'publisher' }).log('warn', 'kafka connection lost; retrying', { attempt: 3 });
    logger.log('debug', 'dropped below info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      service: 'relay',
      component: 'publisher',
      msg: 'kafka connection lost; retrying',
      attempt: 3,
    });
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('censors secret-shaped fields at any depth, in fields and in child bindings, without touching the caller’s object', () => {
    const { lines, destination } = recorder();
    const fields = {
      plaintext: 'p-marker',
      nested: { token: 't-marker', adminToken: 'a-marker', list: [{ password: 'pw-marker' }], keep: 'visible' },
      secret: { value: 's-marker' },
      secretValue: 's2-marker',
      headers: { authorization: 'Bearer b-marker', cookie: 'c-marker' },
      STRATA_MASTER_KEYS: 'mk-marker',
      masterKeys: 'mk2-marker',
      tokenId: 'tok_1',
    };
    createLogger({ service: 'api', destination }).child({ apiKey: 'k-marker' }).log('info', 'x', fields);
    const line = JSON.stringify(lines[0]);
    for (const marker of ['p-', 't-', 'a-', 'pw-', 's-', 's2-', 'b-', 'c-', 'mk2-', 'k-'])
      expect(line).not.toContain(`"${marker}marker`);
    expect(line).not.toContain('b-marker');
    expect(lines[0]).toMatchObject({ nested: { keep: 'visible', token: redactedCensor }, tokenId: 'tok_1' });
    expect(fields.nested.token).toBe('t-marker');
  });

  it('a pino logger for Fastify: the request serializer plus redacted authorization headers', () => {
    const { lines, destination } = recorder();
    createPinoLogger({ service: 'api', destination }).info(
      { req: { method: 'GET', headers: { authorization: 'Bearer hidden', accept: '*/*' } } },
      'incoming request',
    );
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: redactedCensor, accept: '*/*' } } });
  });

  it('level silent writes nothing', () => {
    const { lines, destination } = recorder();
    createLogger({ service: 't', level: 'silent', destination }).log('error', 'nothing');
    expect(lines).toEqual([]);
  });
});
