-- The operator runs a task again (`taskproc tasks requeue`): a fresh generation and attempt
-- count; a holder of the old lease is fenced off and told to stop.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- FAILED, CANCELLED or RUNNING (stuck) -> SCHEDULED: {'ok', task, {}}. SCHEDULED or
-- SUCCESSFUL: {'refused', {}, {status}}. No such task: {'gone', {}, {}}.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'type', 'gen')
if not t.status then return reply('gone') end
if t.status ~= 'STATUS_FAILED' and t.status ~= 'STATUS_CANCELLED'
    and t.status ~= 'STATUS_RUNNING' then
  return reply('refused', false, {t.status})
end
ARQ.drop_run(id, t.gen)
if t.status == 'STATUS_RUNNING' then
  redis.call('PUBLISH', K.chan_task, id .. ' STATUS_CANCELLED')
end
redis.call('HDEL', k, 'endedAt', 'errorMessage', 'userFacingErrorMessage', 'output')
redis.call('HSET', k, 'attempt', 0)
requeue(k, id, t.type, now_ms())
return reply('ok', k)
