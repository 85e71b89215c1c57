-- Operator requeue. ARGV: prefix, id. A failed, cancelled or running (stuck) task goes back to
-- scheduled with a fresh generation and attempt count; a holder of the old lease is fenced off.
-- Returns the task, or nil when it does not exist or is scheduled or successful already.
local id = ARGV[2]
local k = task_key(id)
local st = redis.call('HGET', k, 'status')
if st ~= 'STATUS_FAILED' and st ~= 'STATUS_CANCELLED' and st ~= 'STATUS_RUNNING' then
  return nil
end
drop_job(id)
if st == 'STATUS_RUNNING' then
  redis.call('PUBLISH', P .. ':chan:task', id .. ' STATUS_CANCELLED')
end
redis.call('HDEL', k, 'endedAt', 'errorMessage', 'userFacingErrorMessage', 'output')
redis.call('HSET', k, 'attempt', 0)
requeue(id, redis.call('HGET', k, 'type'), now_ms())
return redis.call('HGETALL', k)
