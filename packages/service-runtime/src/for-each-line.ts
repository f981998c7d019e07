import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Calls `onLine` for every line of a child's output, a last unterminated one included. */
export const forEachLine = (stream: Readable | null, onLine: (line: string) => void): void => {
  if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
};
