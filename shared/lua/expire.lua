-- The lease sweep: running tasks whose lease expired go back in line, or fail after the last
-- attempt with a user-facing message.
-- KEYS[1..5] - the prelude's (common.lua)
-- ARGV[2]    - maximum attempts
-- ARGV[3]    - batch size
-- ARGV[4]    - userFacingErrorMessage of a task that ran out of attempts
-- RUNNING -> SCHEDULED (new generation) or FAILED. Answers {'ok', {}, {{requeued ids…},
-- {failed ids…}}}.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, failed = {}, {}
for _, id in ipairs(ids) do
  local k = K.task(id)
  local t = load(k, 'status', 'type', 'gen', 'attempt', 'webhookUri', 'webhookMethod')
  if t.status ~= 'STATUS_RUNNING' then
    redis.call('ZREM', LEASES, id)
  else
    ARQ.drop_run(id, t.gen)
    if tonumber(t.attempt or '0') >= tonumber(ARGV[2]) then
      finish(k, id, t.type, t, 'STATUS_FAILED', now, {'errorMessage',
        'lease expired after the last attempt', 'userFacingErrorMessage', ARGV[4]})
      table.insert(failed, id)
    else
      requeue(k, id, t.type, now)
      table.insert(requeued, id)
    end
  end
end
return reply('ok', false, {requeued, failed})
