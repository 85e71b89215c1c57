-- Cancel a task. ARGV: prefix, id, owner ('*', '' or user id). Scheduled or running tasks become
-- cancelled (dispatchers holding them hear it on chan:task); finished ones are unchanged.
-- Returns the task, or nil when it does not exist or is not the caller's.
local id = ARGV[2]
local k = task_key(id)
if redis.call('EXISTS', k) == 0 or not owned(k, ARGV[3]) then return nil end
local st = redis.call('HGET', k, 'status')
if st == 'STATUS_SCHEDULED' or st == 'STATUS_RUNNING' then
  finish(id, redis.call('HGET', k, 'type'), 'STATUS_CANCELLED', now_ms())
end
return redis.call('HGETALL', k)
