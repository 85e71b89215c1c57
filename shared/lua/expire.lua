-- The lease sweep: running tasks whose lease expired go back in line, or fail after the last
-- attempt with a user-facing message.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:leases:swept  when the sweep last ran (ms)
-- ARGV[2]    - maximum attempts
-- ARGV[3]    - batch size
-- ARGV[4]    - userFacingErrorMessage of a task that ran out of attempts
-- ARGV[5]    - stall, ms (optional): a longer gap since the last sweep means Redis was away
-- ARGV[6]    - grace, ms: what leases that ran out in a stall get instead of expiring
-- RUNNING -> SCHEDULED (new generation) or FAILED. Answers {'ok', {}, {{requeued ids…},
-- {failed ids…}}}.
-- After a stall (Redis stopped, restarting or unreachable: live holders could not renew
-- either) nothing expires; every lease ending before now + grace ends then instead, so a live
-- holder renews it and the task of a holder that died expires one grace later.
local now = now_ms()
local last = tonumber(redis.call('GET', KEYS[6]) or '0')
redis.call('SET', KEYS[6], now)
if ARGV[5] and last > 0 and now - last > tonumber(ARGV[5]) then
  local until_ms = now + tonumber(ARGV[6])
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', until_ms)) do
    local k = K.task(id)
    local t = load(k, 'status', 'type')
    if t.status == 'STATUS_RUNNING' then
      redis.call('HSET', k, 'leaseExpires', until_ms)
      index_lease(id, t.type, until_ms)
    end
  end
  return reply('ok', false, {{}, {}})
end
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
