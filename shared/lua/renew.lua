-- Extend a lease. ARGV: prefix, id, token, lease ms. Returns 'ok', or the reason it is lost:
-- the task's status when not running, 'lost' when another claim holds it, 'gone' if deleted.
local id = ARGV[2]
local k = task_key(id)
local st = redis.call('HGET', k, 'status')
if not st then return 'gone' end
if st ~= 'STATUS_RUNNING' then return st end
if redis.call('HGET', k, 'leaseToken') ~= ARGV[3] then return 'lost' end
local expires = now_ms() + tonumber(ARGV[4])
redis.call('HSET', k, 'leaseExpires', expires)
redis.call('ZADD', P .. ':tasks:running:' .. redis.call('HGET', k, 'type'), expires, id)
redis.call('ZADD', P .. ':leases', expires, id)
return 'ok'
