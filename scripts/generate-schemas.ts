import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventJsonSchemas } from './event-json-schemas.js';

// `npm run schemas`: rewrites schemas/ from the zod event catalog; test/schemas.unit.spec.ts fails when they drift.
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../schemas');
fs.mkdirSync(dir, { recursive: true });
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) fs.unlinkSync(path.join(dir, file));
const files = eventJsonSchemas();
for (const [file, text] of files) fs.writeFileSync(path.join(dir, file), text);
process.stdout.write(`wrote ${files.size} schemas to ${dir}\n`);
