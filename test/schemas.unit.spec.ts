import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventJsonSchemas } from '../scripts/event-json-schemas.js';

const dir = path.resolve(import.meta.dirname, '../schemas');

describe('schemas/', () => {
  it('holds exactly the JSON Schema generated from the event catalog (run `npm run schemas` after changing it)', () => {
    const expected = eventJsonSchemas();
    const actual = new Map(
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
    );
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) expect(actual.get(file), file).toBe(text);
  });
});
