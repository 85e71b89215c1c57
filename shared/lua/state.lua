-- The transitions several scripts share (after common.lua and arq.lua in the prelude).

-- SCHEDULED or RUNNING -> a final status. t: the task's fields status, webhookUri and
-- webhookMethod; extra: more field/value pairs to set (output, messages, progress).
local function finish(k, id, ttype, t, status, now, extra)
  local f = {'status', status, 'endedAt', sec(now), 'lastUpdated', sec(now)}
  for _, v in ipairs(extra or {}) do table.insert(f, v) end
  redis.call('HSET', k, unpack(f))
  if t.status == 'STATUS_RUNNING' then
    redis.call('HDEL', k, unpack(LEASE_FIELDS))
    redis.call('ZREM', K.running(ttype), id)
    redis.call('ZREM', LEASES, id)
  else
    redis.call('ZREM', K.scheduled(ttype), id)
  end
  redis.call('ZADD', UPDATED, sec(now), id)
  redis.call('PUBLISH', K.chan_task, id .. ' ' .. status)
  ARQ.enqueue_webhook(k, id, t, now)
end
-- RUNNING (or, for the operator, a final status) -> SCHEDULED in a new generation with a new
-- job, so the old job and the old lease holder cannot touch it. It keeps its place: the
-- scheduled set is scored by the first schedule time.
local function requeue(k, id, ttype, now)
  local gen = redis.call('HINCRBY', k, 'gen', 1)
  redis.call('HSET', k, 'status', 'STATUS_SCHEDULED', 'lastUpdated', sec(now))
  redis.call('HDEL', k, 'progress', unpack(LEASE_FIELDS))
  redis.call('ZREM', K.running(ttype), id)
  redis.call('ZREM', LEASES, id)
  local first = tonumber(redis.call('HGET', k, 'scheduledAt') or '0') * 1000
  redis.call('ZADD', K.scheduled(ttype), first > 0 and first or now, id)
  redis.call('ZADD', UPDATED, sec(now), id)
  ARQ.enqueue_run(id, gen, ttype, now)
  redis.call('PUBLISH', K.chan_ready, ttype)
end
