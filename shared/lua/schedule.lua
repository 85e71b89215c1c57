-- Create a task and queue its job, unless an admission check refuses it. When a dispatcher
-- has announced a free slot for the type (idle.lua), the task is claimed for that slot instead
-- and pushed to the type's handoff list, where the waiting dispatcher pops it (BLPOP): no job,
-- no wake-up, no pickup round trip (services/dispatcher/handoff.py).
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:seq
-- KEYS[7]    - {p}:tasks:user:{uid}, the user's index ('' for a task without user)
-- KEYS[8]    - {p}:user:{uid}:live, the user's scheduled and running tasks ('' : not capped)
-- KEYS[9]    - {p}:providers:gen, the provider registry's generation
-- KEYS[10]   - {p}:idle:{type}, free dispatcher slots for the type (idle.lua)
-- KEYS[11]   - {p}:handoff:{type}, tasks claimed for those slots
-- ARGV[2]    - task type
-- ARGV[3]    - expected runtime, seconds
-- ARGV[4]    - input file ids, comma-separated
-- ARGV[5]    - '1': an external provider serves the type (announce it on chan:ready)
-- ARGV[6]    - the registry generation the caller validated against ('' : not checked)
-- ARGV[7]    - at most this many scheduled tasks of the type (0: no cap)
-- ARGV[8]    - at most this many live tasks of the user in KEYS[8]
-- ARGV[9..]  - field, value pairs of the new task (shared.tasks.TaskField)
-- SCHEDULED (or RUNNING for a free slot). Answers {'ok', {}, {id, scheduledAt}}: the caller
-- knows the rest of the task (as scheduled); or {'refused', {}, {reason}}: 'registry' (it changed since ARGV[6]: validate again),
-- 'queue_full' or 'live_tasks'.
local ttype = ARGV[2]
local HANDOFF_TTL_MS = 60000  -- a handoff list nobody pops is dropped (the leases requeue)
-- How many of the user's tasks are live; only at the cap are the finished or deleted ones
-- dropped from the set, so the count costs one SCARD until then.
local function live_count(live, cap)
  local n = redis.call('SCARD', live)
  if n < cap then return n end
  for _, id in ipairs(redis.call('SMEMBERS', live)) do
    local status = redis.call('HGET', K.task(id), 'status')
    if status ~= 'STATUS_SCHEDULED' and status ~= 'STATUS_RUNNING' then
      redis.call('SREM', live, id)
      n = n - 1
    end
  end
  return n
end
-- The freshest free slot announced for the type under the current registry, taken: {owner,
-- token prefix, lease ms, provider}; nil when there is none (slots of an older registry are
-- dropped: their dispatcher announces again with the current one).
local function free_slot(now)
  redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now)
  local slot = redis.call('ZRANGE', KEYS[10], -1, -1)[1]
  if not slot then return nil end
  redis.call('ZREM', KEYS[10], slot)
  local gen, lease, provider, nonce, owner = slot:match('^(%d+)|(%d+)|([^|]+)|([^|]+)|(.*)$')
  if gen ~= (redis.call('GET', KEYS[9]) or '0') then return nil end
  return {owner = owner, nonce = nonce, lease = tonumber(lease), provider = provider}
end

if ARGV[6] ~= '' and (redis.call('GET', KEYS[9]) or '0') ~= ARGV[6] then
  return reply('refused', false, {'registry'})
end
local max_queued = tonumber(ARGV[7])
if max_queued > 0 and redis.call('ZCARD', K.scheduled(ttype)) >= max_queued then
  return reply('refused', false, {'queue_full'})
end
if KEYS[8] ~= '' and live_count(KEYS[8], tonumber(ARGV[8])) >= tonumber(ARGV[8]) then
  return reply('refused', false, {'live_tasks'})
end
local now = now_ms()
local id = redis.call('INCR', KEYS[6])
local k = K.task(id)
local s = sec(now)
local f = {'id', id, 'type', ttype, 'status', 'STATUS_SCHEDULED', 'scheduledAt', s,
  'lastUpdated', s, 'completionExpectedAt', s + tonumber(ARGV[3]), 'attempt', 0, 'gen', 1}
for i = 9, #ARGV do table.insert(f, ARGV[i]) end
redis.call('HSET', k, unpack(f))
-- scored by id: schedule order without ties, so a listing can read the newest first
if KEYS[7] ~= '' then redis.call('ZADD', KEYS[7], id, id) end
if KEYS[8] ~= '' then redis.call('SADD', KEYS[8], id) end
link_files(K.files(id), ARGV[4])
redis.call('ZADD', UPDATED, s, id)
local slot = free_slot(now)
if slot then
  local token = slot.nonce .. ':' .. id
  take(k, id, ttype, {}, slot.owner, token, slot.lease, slot.provider, now)
  redis.call('RPUSH', KEYS[11], cjson.encode({token = token, expires = now + slot.lease,
    lease = slot.lease, task = redis.call('HGETALL', k)}))
  redis.call('PEXPIRE', KEYS[11], HANDOFF_TTL_MS)
else
  redis.call('ZADD', K.scheduled(ttype), now, id)
  ARQ.enqueue_run(id, 1, ttype, now)
end
if ARGV[5] == '1' then redis.call('PUBLISH', K.chan_ready, ttype) end
return reply('ok', false, {id, s})
