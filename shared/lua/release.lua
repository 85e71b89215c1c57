-- A dispatcher shutting down hands its running task back; the attempt is not counted.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- ARGV[3]    - lease token
-- RUNNING under this token -> SCHEDULED (a new generation): {'ok', {}, {}}. Otherwise
-- {'refused', {}, {}}, or {'gone', {}, {}} when there is no such task.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'leaseToken', 'type')
if not t.status then return reply('gone') end
if t.status ~= 'STATUS_RUNNING' or t.leaseToken ~= ARGV[3] then return reply('refused') end
redis.call('HINCRBY', k, 'attempt', -1)
requeue(k, id, t.type, now_ms())
return reply('ok')
