import type { Readable } from 'node:stream';

/** Calls `onLine` for every complete line of a child's output, and for a last unterminated one at its end. */
export const forEachLine = (stream: Readable | null, onLine: (line: string) => void): void => {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
};
