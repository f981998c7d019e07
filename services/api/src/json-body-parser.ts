import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maxJsonDepth, StrataError } from '@strata/core';

const numberChars = new Set([...'0123456789.eE+-'].map((c) => c.charCodeAt(0)));

/**
 * The first problem of a JSON text that JSON.parse would not report: nesting deeper than
 * `maxDepth` (the parser copes, but every recursive walker after it — validation, the log's
 * canonical JSON, PostgreSQL's jsonb — does not), and integer literals a double cannot hold, which
 * JSON.parse silently rounds (12345678901234567890123 → 1.2345678901234568e22). One pass over the
 * text, before anything is built from it; malformed JSON is left to JSON.parse.
 */
export const jsonTextProblem = (text: string, maxDepth = maxJsonDepth): StrataError | undefined => {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return new StrataError('BAD_REQUEST', `JSON body nested deeper than ${maxDepth} levels`);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
    else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && numberChars.has(text.charCodeAt(end))) end++;
      const literal = text.slice(i, end);
      i = end - 1;
      // Up to 15 digits every integer is exact; only longer integer literals can have been rounded.
      if (literal.length > 15 && /^-?\d+$/.test(literal) && BigInt(Number(literal)) !== BigInt(literal)) {
        const shown = literal.length > 40 ? `${literal.slice(0, 37)}...` : literal;
        return new StrataError(
          'VALIDATION_FAILED',
          `the integer ${shown} cannot be stored exactly (JSON numbers here are doubles, exact up to ±${Number.MAX_SAFE_INTEGER}); send it as a string`,
        );
      }
    }
  }
  return undefined;
};

// In Unicode mode a surrogate pair is one code point, so only a lone surrogate is in category Cs.
const unstorable = /\u0000|\p{Cs}/u;

/**
 * The first string (or property name) of a parsed body that PostgreSQL cannot store as sent: a NUL
 * character (text and jsonb refuse it) or a lone surrogate (jsonb refuses its escape, text would
 * silently become U+FFFD). Iterative; the depth is already bounded by `jsonTextProblem`.
 */
export const unstorableString = (value: unknown): StrataError | undefined => {
  const pending: unknown[] = [value];
  for (let i = 0; i < pending.length; i++) {
    const next = pending[i];
    if (typeof next === 'string') {
      if (unstorable.test(next))
        return new StrataError(
          'BAD_REQUEST',
          'JSON body holds a string with a NUL character or a lone surrogate: send well-formed Unicode text',
        );
    } else if (typeof next === 'object' && next !== null) {
      if (!Array.isArray(next)) for (const name of Object.keys(next)) pending.push(name);
      for (const child of Object.values(next)) pending.push(child);
    }
  }
  return undefined;
};

/**
 * Replaces Fastify's JSON body parser by one that checks the text first (`jsonTextProblem`), parses
 * it exactly as Fastify does (prototype poisoning refused, empty bodies reported), then refuses
 * strings the store cannot hold (`unstorableString`).
 */
export const useBoundedJsonParser = (app: FastifyInstance) => {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, body?: unknown) => void) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      const problem = jsonTextProblem(text);
      if (problem) return done(problem);
      void parse(request, text, (error, parsed) => done(error ?? unstorableString(parsed) ?? null, parsed));
    },
  );
};
