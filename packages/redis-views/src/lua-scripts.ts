import type { Redis } from 'ioredis';

/**
 * Lua scripts, each atomic in Redis. Writers and readers both resolve the generation pointer
 * inside the script, so a generation switch is never observed half-way.
 *
 * Scripts derive a view's keys from the prefix, generation and hash tag; all keys of one view share
 * the tag's slot. The generation pointer is read in the same script, which is fine on one Redis
 * (with replicas) — the deployment this project documents — but not on Redis Cluster.
 */

/**
 * KEYS: gen, missed. ARGV: prefix, mode ('live' | 'build'), generation (build mode), view tag,
 * `after` (the last position of the call before this one for the view, '0' for none), then per
 * event, in position order, `position, op, a, b, c, message` in live mode or just
 * `position, op, a, b, c` in build mode (rebuilds publish nothing). The applied events' messages
 * go out as one JSON array per channel, so a call costs two PUBLISH, not two per event.
 * Returns the number of events applied, -1 when the target generation is missing (lost data), or
 * -2 when the view is behind `after`: the call before failed, and applying this one would skip
 * its events for good.
 */
export const applyScript = `
local prefix = ARGV[1]
local live = ARGV[2] == 'live'
local gen
if live then gen = redis.call('GET', KEYS[1]) else gen = ARGV[3] end
local stride = 5
if live then stride = 6 end
local lastPos = tonumber(ARGV[#ARGV - stride + 1])
if (not gen) or (redis.call('EXISTS', prefix .. 'g' .. gen .. ':marker') == 0) then
  if live then
    local missed = tonumber(redis.call('GET', KEYS[2]) or '0')
    if lastPos > missed then redis.call('SET', KEYS[2], lastPos) end
  end
  return -1
end
local tag = ARGV[4]
local base = prefix .. 'g' .. gen .. ':' .. tag
local posKey = base .. ':pos'
local pos = tonumber(redis.call('GET', posKey) or '0')
if pos < tonumber(ARGV[5]) then return -2 end
local envKey = base .. ':env'
local flagsKey = base .. ':flags'
local tenantKeys = {}
local overrideKeys = {}
local tenantsSeen = {}
local tenants = {}
local messages = {}
local applied = 0
for i = 6, #ARGV, stride do
  local p = tonumber(ARGV[i])
  if p > pos then
    local op, a, b, c = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    if a ~= '' and not tenantsSeen[a] and (op == 'cs' or (op == 'fo' and c ~= '')) then
      tenantsSeen[a] = true
      tenants[#tenants + 1] = a
    end
    if op == 'cs' then
      if a == '' then
        redis.call('HSET', envKey, b, c)
      else
        local key = tenantKeys[a]
        if not key then key = base .. ':tenant:' .. a; tenantKeys[a] = key end
        redis.call('HSET', key, b, c)
      end
    elseif op == 'cu' then
      if a == '' then redis.call('HDEL', envKey, b) else redis.call('HDEL', base .. ':tenant:' .. a, b) end
    elseif op == 'fr' then
      redis.call('HSET', flagsKey, b, c)
    elseif op == 'gs' then
      redis.call('HSET', base .. ':segments', b, c)
    elseif op == 'gd' then
      redis.call('HDEL', base .. ':segments', b)
    elseif op == 'fo' then
      local key = overrideKeys[a]
      if not key then key = base .. ':overrides:' .. a; overrideKeys[a] = key end
      if c == '' then redis.call('HDEL', key, b) else redis.call('HSET', key, b, c) end
    elseif op == 'sa' then
      local key = base .. ':secrets'
      local current = redis.call('HGET', key, b)
      local versions = {}
      if current then versions = cjson.decode(current).versions end
      versions[#versions + 1] = cjson.decode(c)
      redis.call('HSET', key, b, cjson.encode({ versions = versions, deleted = false, position = p }))
    elseif op == 'sd' then
      local key = base .. ':secrets'
      local current = redis.call('HGET', key, b)
      local versions = {}
      if current then versions = cjson.decode(current).versions end
      if #versions == 0 then
        -- cjson would encode an empty table as {}: write the empty list by hand.
        redis.call('HSET', key, b, '{"versions":[],"deleted":true,"position":' .. p .. '}')
      else
        redis.call('HSET', key, b, cjson.encode({ versions = versions, deleted = true, position = p }))
      end
    elseif op == 'mp' then
      redis.call('SET', base .. ':manifest', c)
    elseif op == 'ks' then
      redis.call('HSET', base .. ':shredded', a, c)
    end
    pos = p
    applied = applied + 1
    if live and ARGV[i + 5] ~= '' then messages[#messages + 1] = ARGV[i + 5] end
  end
end
if applied > 0 then
  redis.call('SET', posKey, pos)
  redis.call('INCRBY', base .. ':n', applied)
  redis.call('SADD', prefix .. 'g' .. gen .. ':views', tag)
  -- unpack is bounded by Lua's C stack: members go in slices.
  for j = 1, #tenants, 1000 do
    redis.call('SADD', base .. ':tenants', unpack(tenants, j, math.min(j + 999, #tenants)))
  end
  if #messages > 0 then
    local close = ',"generation":' .. gen .. '}'
    local body = '[' .. table.concat(messages, close .. ',') .. close .. ']'
    redis.call('PUBLISH', prefix .. 'changes:' .. tag, body)
    redis.call('PUBLISH', prefix .. 'changes', body)
  end
end
return applied
`;

/**
 * Makes a rebuilt generation live, only if it is complete: its marker still says `building` (no
 * flush wiped it), it reached every position dropped while no view was live, and every view of
 * the current generation is at or behind the same view in the new one.
 * KEYS: gen, missed. ARGV: prefix, new generation, rebuild cursor, message (a one-element array).
 * Returns 1 when switched, 0 when the rebuild must catch up further, -1 when the new generation was lost.
 */
export const switchScript = `
local prefix = ARGV[1]
local newGen = ARGV[2]
local marker = prefix .. 'g' .. newGen .. ':marker'
if redis.call('GET', marker) ~= 'building' then return -1 end
if tonumber(ARGV[3]) < tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
local old = redis.call('GET', KEYS[1])
if old and redis.call('EXISTS', prefix .. 'g' .. old .. ':marker') == 1 then
  for _, tag in ipairs(redis.call('SMEMBERS', prefix .. 'g' .. old .. ':views')) do
    local before = tonumber(redis.call('GET', prefix .. 'g' .. old .. ':' .. tag .. ':pos') or '0')
    local after = tonumber(redis.call('GET', prefix .. 'g' .. newGen .. ':' .. tag .. ':pos') or '0')
    if after < before then return 0 end
  end
end
redis.call('SET', marker, 'ready')
redis.call('SET', KEYS[1], newGen)
redis.call('PUBLISH', prefix .. 'changes', ARGV[4])
return 1
`;

/**
 * The start of every read script: KEYS: gen; ARGV[1..3]: prefix, view tag, namespace view tag.
 * Returns false without a live generation, else leaves `gen`, `base` (the generation's key
 * prefix), `view` and `ns` (the two views' key prefixes) defined.
 */
const liveViews = `
local gen = redis.call('GET', KEYS[1])
if not gen then return false end
local base = ARGV[1] .. 'g' .. gen .. ':'
local view = base .. ARGV[2]
local ns = base .. ARGV[3]
`;

/**
 * One round trip for a tenant's resolved config. KEYS: gen. ARGV: prefix, view tag, namespace tag,
 * tenant ('' for none). Returns false without a live generation, else
 * [generation, viewPos, namespacePos, manifest JSON|false, env hash, tenant hash].
 */
export const readConfigScript = `${liveViews}local tenant = {}
if ARGV[4] ~= '' then tenant = redis.call('HGETALL', view .. ':tenant:' .. ARGV[4]) end
return { gen, redis.call('GET', view .. ':pos') or '0', redis.call('GET', ns .. ':pos') or '0',
  redis.call('GET', ns .. ':manifest'), redis.call('HGETALL', view .. ':env'), tenant }
`;

/**
 * Everything needed to evaluate one flag for one tenant. KEYS: gen. ARGV: prefix, view tag,
 * namespace tag, flag, tenant ('' for none). Returns false without a live generation, else
 * [generation, viewPos, flag JSON|false, override JSON|false, manifest JSON|false, segments hash].
 */
export const readFlagScript = `${liveViews}local override = false
if ARGV[5] ~= '' then override = redis.call('HGET', view .. ':overrides:' .. ARGV[5], ARGV[4]) end
return { gen, redis.call('GET', view .. ':pos') or '0', redis.call('HGET', view .. ':flags', ARGV[4]),
  override, redis.call('GET', ns .. ':manifest'), redis.call('HGETALL', view .. ':segments') }
`;

/**
 * A view, whole or in part, as one consistent snapshot (the SDK's in-memory cache, loadView).
 * KEYS: gen. ARGV: prefix, view tag, namespace tag, part, then '*' for every tenant of the view or
 * '-' followed by the tenants wanted. Parts: 'head' (positions and event count only), 'tenants'
 * (plus the tenants' layers), 'env' (plus manifest, environment layer, flags and segments), 'all'
 * (plus secret envelopes and shreddings). Returns false without a live generation, else
 * [generation, viewPos, namespacePos, event count, manifest JSON|false, env|false, flags|false,
 *  [[tenant, config hash, overrides hash], …], segments|false, secrets|false, shredded|false].
 */
export const readViewScript = `${liveViews}local part = ARGV[4]
local reply = { gen, redis.call('GET', view .. ':pos') or '0', redis.call('GET', ns .. ':pos') or '0',
  redis.call('GET', view .. ':n') or '0', false, false, false, {}, false, false, false }
if part == 'head' then return reply end
if part == 'env' or part == 'all' then
  reply[5] = redis.call('GET', ns .. ':manifest')
  reply[6] = redis.call('HGETALL', view .. ':env')
  reply[7] = redis.call('HGETALL', view .. ':flags')
  reply[9] = redis.call('HGETALL', view .. ':segments')
end
if part == 'all' then
  reply[10] = redis.call('HGETALL', view .. ':secrets')
  reply[11] = redis.call('HGETALL', ns .. ':shredded')
end
local tenants = {}
if ARGV[5] == '*' then tenants = redis.call('SMEMBERS', view .. ':tenants')
else for i = 6, #ARGV do tenants[#tenants + 1] = ARGV[i] end end
local list = {}
for _, t in ipairs(tenants) do
  list[#list + 1] = { t, redis.call('HGETALL', view .. ':tenant:' .. t), redis.call('HGETALL', view .. ':overrides:' .. t) }
end
reply[8] = list
return reply
`;

/**
 * A tenant's secret, falling back to the environment's. KEYS: gen. ARGV: prefix, view tag,
 * namespace tag, tenant field, environment field. Returns false without a live generation, else
 * [generation, viewPos, tenant record|false, environment record|false].
 */
export const readSecretScript = `${liveViews}local tenant = false
if ARGV[4] ~= '' then tenant = redis.call('HGET', view .. ':secrets', ARGV[4]) end
return { gen, redis.call('GET', view .. ':pos') or '0', tenant, redis.call('HGET', view .. ':secrets', ARGV[5]) }
`;

/**
 * KEYS: gen. ARGV: prefix, environment view tag, namespace view tag. Returns `{ generation,
 * environment position, namespace position }`, or false while no generation is live.
 */
export const positionScript = `${liveViews}return { gen, redis.call('GET', view .. ':pos') or '0', redis.call('GET', ns .. ':pos') or '0' }
`;

/**
 * Defines scripts taking `numberOfKeys` keys as commands of `redis`, once per connection object
 * (ioredis then sends EVALSHA, loading a script on its first use): `{ command name: lua }`.
 */
export const defineScripts = <Commands>(
  redis: Redis,
  numberOfKeys: number,
  scripts: Record<string, string>,
): Redis & Commands => {
  for (const [name, lua] of Object.entries(scripts))
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  return redis as Redis & Commands;
};
