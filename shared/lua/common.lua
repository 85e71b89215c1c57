-- Shared helpers, prepended to every script by shared/scripts.py.
-- ARGV[1] is always the key prefix. Times come from the server clock (TIME) so that several
-- gateways with skewed clocks agree.
local P = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function task_key(id) return P .. ':task:' .. id end
local function job_payload(fn, args_json, now)
  return '{"t":null,"f":"' .. fn .. '","a":' .. args_json .. ',"k":{},"et":' .. now .. '}'
end
-- Queue one arq job by writing arq 0.28's own keys (job payload + queue entry), then wake.
local function enqueue(job_id, fn, args_json, now)
  local jk = 'arq:job:' .. job_id
  if redis.call('EXISTS', jk) == 1 then return 0 end
  redis.call('SET', jk, job_payload(fn, args_json, now), 'PX', 30 * 86400000)
  redis.call('ZADD', P .. ':queue', now, job_id)
  redis.call('PUBLISH', P .. ':chan:wake', job_id)
  return 1
end
local function enqueue_run(id, gen, now)
  return enqueue(P .. ':run:' .. id .. ':' .. gen, 'run_task', '[' .. id .. ',' .. gen .. ']', now)
end
local function enqueue_webhook(id, now)
  local k = task_key(id)
  local uri = redis.call('HGET', k, 'webhookUri')
  local method = redis.call('HGET', k, 'webhookMethod')
  if not uri or not method or uri == '' or method == '' then return 0 end
  local n = redis.call('HINCRBY', k, 'webhookSeq', 1)
  return enqueue(P .. ':hook:' .. id .. ':' .. n, 'fire_webhook', '[' .. id .. ']', now)
end
local function touch(id, now)
  redis.call('HSET', task_key(id), 'lastUpdated', math.floor(now / 1000))
  redis.call('ZADD', P .. ':tasks:updated', math.floor(now / 1000), id)
end
local function drop_from_queues(id, ttype)
  redis.call('ZREM', P .. ':tasks:scheduled:' .. ttype, id)
  redis.call('ZREM', P .. ':tasks:running:' .. ttype, id)
  redis.call('ZREM', P .. ':leases', id)
end
-- Owner check: ARGV owner '*' (operator), '' (guest: only tasks without user) or a user id.
local function owned(k, owner)
  if owner == '*' then return true end
  local uid = redis.call('HGET', k, 'userId')
  if owner == '' then return uid == false end
  return uid == owner
end
local function finish(id, ttype, status, now)
  local k = task_key(id)
  redis.call('HSET', k, 'status', status, 'endedAt', math.floor(now / 1000))
  redis.call('HDEL', k, 'leaseToken', 'leaseExpires', 'leaseOwner')
  drop_from_queues(id, ttype)
  touch(id, now)
  redis.call('PUBLISH', P .. ':chan:task', id .. ' ' .. status)
  enqueue_webhook(id, now)
end
-- Remove the arq job of the task's current generation (queue entry, payload, markers).
local function drop_job(id)
  local job = P .. ':run:' .. id .. ':' .. (redis.call('HGET', task_key(id), 'gen') or '0')
  redis.call('ZREM', P .. ':queue', job)
  redis.call('DEL', 'arq:job:' .. job, 'arq:in-progress:' .. job, 'arq:retry:' .. job)
end
-- Put a running task back in line (a new generation, so the old job cannot claim it). It
-- keeps its place: the scheduled set is scored by the original schedule time.
local function requeue(id, ttype, now)
  local k = task_key(id)
  local gen = redis.call('HINCRBY', k, 'gen', 1)
  redis.call('HSET', k, 'status', 'STATUS_SCHEDULED')
  redis.call('HDEL', k, 'leaseToken', 'leaseExpires', 'leaseOwner', 'progress')
  redis.call('ZREM', P .. ':tasks:running:' .. ttype, id)
  redis.call('ZREM', P .. ':leases', id)
  local first = tonumber(redis.call('HGET', k, 'scheduledAt') or '0') * 1000
  redis.call('ZADD', P .. ':tasks:scheduled:' .. ttype, first > 0 and first or now, id)
  touch(id, now)
  enqueue_run(id, gen, now)
  redis.call('PUBLISH', P .. ':chan:ready', ttype)
end
-- Link files to a task (comma-separated ids): they are kept with it and deleted with it.
local function link_files(id, csv)
  for fid in string.gmatch(csv, '[^,]+') do
    if redis.call('SADD', P .. ':task:' .. id .. ':files', fid) == 1 then
      redis.call('HINCRBY', P .. ':file:' .. fid, 'refs', 1)
    end
    redis.call('ZREM', P .. ':files:unreferenced', fid)
  end
end
