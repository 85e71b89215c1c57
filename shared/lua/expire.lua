-- Recover tasks whose lease expired. ARGV: prefix, max attempts, batch size, failure message.
-- Each expired task goes back to scheduled with a new generation (a new arq job), or, after
-- max attempts, fails with a user-facing message. Returns {requeued ids…, '|', failed ids…}.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', P .. ':leases', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, failed = {}, {}
for _, id in ipairs(ids) do
  local k = task_key(id)
  local st = redis.call('HGET', k, 'status')
  if st ~= 'STATUS_RUNNING' then
    redis.call('ZREM', P .. ':leases', id)
  else
    local ttype = redis.call('HGET', k, 'type')
    drop_job(id)
    if tonumber(redis.call('HGET', k, 'attempt') or '0') >= tonumber(ARGV[2]) then
      redis.call('HSET', k, 'errorMessage', 'lease expired after the last attempt',
        'userFacingErrorMessage', ARGV[4])
      finish(id, ttype, 'STATUS_FAILED', now)
      table.insert(failed, id)
    else
      requeue(id, ttype, now)
      table.insert(requeued, id)
    end
  end
end
table.insert(requeued, '|')
for _, id in ipairs(failed) do table.insert(requeued, id) end
return requeued
