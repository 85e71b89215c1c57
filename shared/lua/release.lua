-- Hand a running task back (dispatcher shutdown). ARGV: prefix, id, token.
-- Only the lease holder can release; the attempt is not counted. Returns 1 if released.
local id = ARGV[2]
local k = task_key(id)
if redis.call('HGET', k, 'status') ~= 'STATUS_RUNNING' then return 0 end
if redis.call('HGET', k, 'leaseToken') ~= ARGV[3] then return 0 end
local now = now_ms()
local ttype = redis.call('HGET', k, 'type')
local gen = redis.call('HINCRBY', k, 'gen', 1)
redis.call('HINCRBY', k, 'attempt', -1)
redis.call('HSET', k, 'status', 'STATUS_SCHEDULED')
redis.call('HDEL', k, 'leaseToken', 'leaseExpires', 'leaseOwner', 'progress')
redis.call('ZREM', P .. ':tasks:running:' .. ttype, id)
redis.call('ZREM', P .. ':leases', id)
redis.call('ZADD', P .. ':tasks:scheduled:' .. ttype, now, id)
touch(id, now)
enqueue_run(id, gen, now)
redis.call('PUBLISH', P .. ':chan:ready', ttype)
return 1
