-- Hand a running task back (dispatcher shutdown). ARGV: prefix, id, token.
-- Only the lease holder can release; the attempt is not counted. Returns 1 if released.
local id = ARGV[2]
local k = task_key(id)
if redis.call('HGET', k, 'status') ~= 'STATUS_RUNNING' then return 0 end
if redis.call('HGET', k, 'leaseToken') ~= ARGV[3] then return 0 end
local now = now_ms()
local ttype = redis.call('HGET', k, 'type')
redis.call('HINCRBY', k, 'attempt', -1)
requeue(id, ttype, now)
return 1
