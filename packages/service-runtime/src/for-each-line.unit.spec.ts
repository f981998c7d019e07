import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { forEachLine } from './for-each-line.js';

it('forEachLine yields every line across chunk boundaries, the last unterminated one included', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  forEachLine(stream, (line) => lines.push(line));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  stream.write('{"msg":"a"}\n{"ms');
  stream.write('g":"b"}\r\nlast é');
  stream.end();
  await ended;
  await new Promise((resolve) => setImmediate(resolve));
  expect(lines).toEqual(['{"msg":"a"}', '{"msg":"b"}', 'last é']);
  forEachLine(null, () => expect.unreachable());
});
