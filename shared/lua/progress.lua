-- Record progress. ARGV: prefix, id, progress, token ('' = provider route, no fencing),
-- lease ms ('' = keep). A cancelled or finished task is returned unchanged; a scheduled one
-- becomes running (Nextcloud's semantics). Returns the task or nil when it does not exist.
local id = ARGV[2]
local k = task_key(id)
local st = redis.call('HGET', k, 'status')
if not st then return nil end
if st ~= 'STATUS_SCHEDULED' and st ~= 'STATUS_RUNNING' then return redis.call('HGETALL', k) end
if ARGV[4] ~= '' and redis.call('HGET', k, 'leaseToken') ~= ARGV[4] then
  return redis.call('HGETALL', k)
end
local now = now_ms()
local ttype = redis.call('HGET', k, 'type')
if st == 'STATUS_SCHEDULED' then
  redis.call('HSET', k, 'status', 'STATUS_RUNNING', 'startedAt', math.floor(now / 1000))
  redis.call('ZREM', P .. ':tasks:scheduled:' .. ttype, id)
  redis.call('HINCRBY', k, 'attempt', 1)
end
redis.call('HSET', k, 'progress', ARGV[3])
if ARGV[5] ~= '' then
  local expires = now + tonumber(ARGV[5])
  redis.call('HSET', k, 'leaseExpires', expires)
  redis.call('ZADD', P .. ':tasks:running:' .. ttype, expires, id)
  redis.call('ZADD', P .. ':leases', expires, id)
end
touch(id, now)
return redis.call('HGETALL', k)
