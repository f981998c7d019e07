/**
 * The projectors' lag per Kafka partition, kept in one Redis hash (`globalKeys(prefix).partitionLag`)
 * so that the API (and anything else that reads Redis) can show it without talking to Kafka.
 * Each member writes the partitions it owns; every entry is stamped with Redis's own clock, and
 * readers judge its age by that same clock, so a dead or hung projector shows as stale — never as
 * "0 behind" forever — and clock skew between hosts cannot fake either.
 */

import type { LagReporter, PartitionLagReport, PartitionOffsets } from '@strata/core';

export type { LagReporter, PartitionLagReport, PartitionOffsets } from '@strata/core';

/** A member that missed five reports in a row (and at least 3 s) no longer speaks for its partitions. */
export const staleAfterMs = (everyMs: number): number => Math.max(5 * everyMs, 3_000);

/**
 * KEYS: lag hash. ARGV: instance, everyMs, then `partition, committed, highWatermark` per partition.
 * One HSET, each value a JSON object stamped with Redis TIME in milliseconds.
 */
export const publishLagScript = `
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local who = ',"instance":' .. cjson.encode(ARGV[1]) .. ',"everyMs":' .. ARGV[2] .. ',"updatedAt":' .. now .. '}'
local args = {}
for i = 3, #ARGV, 3 do
  local committed, high = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  args[#args + 1] = ARGV[i]
  args[#args + 1] = '{"partition":' .. ARGV[i] .. ',"committed":' .. ARGV[i + 1] .. ',"highWatermark":' .. ARGV[i + 2]
    .. ',"lag":' .. string.format('%.0f', math.max(0, high - committed)) .. who
end
if #args > 0 then redis.call('HSET', KEYS[1], unpack(args)) end
return #args / 2
`;

/** KEYS: lag hash. Returns `{ now in ms (Redis TIME), HGETALL }`. */
export const readLagScript = `
local t = redis.call('TIME')
return { string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)), redis.call('HGETALL', KEYS[1]) }
`;

interface StoredLag extends PartitionOffsets, LagReporter {
  lag: number;
  updatedAt: number;
}

/** The script's flat arguments for `publishLagScript`. */
export const publishLagArgs = (reporter: LagReporter, partitions: readonly PartitionOffsets[]): string[] => {
  const args = [reporter.instance, String(Math.round(reporter.everyMs))];
  for (const p of partitions) args.push(String(p.partition), String(p.committed), String(p.highWatermark));
  return args;
};

/** `readLagScript`'s reply as reports, by partition. */
export const parseLagReply = (reply: unknown): PartitionLagReport[] => {
  const [rawNow, flat] = reply as [string, string[]];
  const now = Number(rawNow);
  const reports: PartitionLagReport[] = [];
  for (let i = 1; i < flat.length; i += 2) {
    const { updatedAt, ...entry } = JSON.parse(flat[i]!) as StoredLag;
    const ageMs = Math.max(0, now - updatedAt);
    reports.push({
      ...entry,
      updatedAt: new Date(updatedAt).toISOString(),
      ageMs,
      stale: ageMs > staleAfterMs(entry.everyMs),
    });
  }
  return reports.sort((a, b) => a.partition - b.partition);
};
