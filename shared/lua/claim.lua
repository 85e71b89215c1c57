-- Claim a scheduled task. ARGV: prefix, id, gen ('' = any), owner, token, lease ms, provider id.
-- Succeeds only from STATUS_SCHEDULED (and the job's generation). Returns the task or nil.
local id = ARGV[2]
local k = task_key(id)
local st = redis.call('HGET', k, 'status')
if st ~= 'STATUS_SCHEDULED' then return nil end
if ARGV[3] ~= '' and redis.call('HGET', k, 'gen') ~= ARGV[3] then return nil end
local now = now_ms()
local ttype = redis.call('HGET', k, 'type')
local expires = now + tonumber(ARGV[6])
redis.call('HINCRBY', k, 'attempt', 1)
redis.call('HSET', k, 'status', 'STATUS_RUNNING', 'leaseOwner', ARGV[4], 'leaseToken', ARGV[5],
  'leaseExpires', expires, 'provider', ARGV[7])
if redis.call('HEXISTS', k, 'startedAt') == 0 then
  redis.call('HSET', k, 'startedAt', math.floor(now / 1000))
end
redis.call('ZREM', P .. ':tasks:scheduled:' .. ttype, id)
redis.call('ZADD', P .. ':tasks:running:' .. ttype, expires, id)
redis.call('ZADD', P .. ':leases', expires, id)
touch(id, now)
redis.call('PUBLISH', P .. ':chan:task', id .. ' STATUS_RUNNING')
return redis.call('HGETALL', k)
