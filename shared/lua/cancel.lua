-- Cancel a task. Dispatchers holding it hear it on chan:task and stop its provider.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- ARGV[3]    - caller kind: '*' (operator), 'user', 'guest' or 'exapp' (see owned())
-- ARGV[4]    - caller: user id, guest address or ExApp id
-- SCHEDULED or RUNNING -> CANCELLED: {'ok', task, {}}. A final task stays as it is:
-- {'refused', task, {}}. Not there or not the caller's: {'gone', {}, {}}.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'type', 'userId', 'guest', 'exApp', 'webhookUri', 'webhookMethod')
if not t.status or not owned(t, ARGV[3], ARGV[4]) then return reply('gone') end
if t.status ~= 'STATUS_SCHEDULED' and t.status ~= 'STATUS_RUNNING' then
  return reply('refused', k)
end
finish(k, id, t.type, t, 'STATUS_CANCELLED', now_ms())
return reply('ok', k)
