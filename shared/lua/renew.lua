-- The lease holder extends its lease.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- ARGV[3]    - lease token
-- ARGV[4]    - lease, ms
-- RUNNING under this token stays RUNNING: {'ok', {}, {}}. Otherwise {'refused', {}, {status
-- or 'lost' (another claim holds it)}}, or {'gone', {}, {}} when the task was deleted.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'leaseToken', 'type')
if not t.status then return reply('gone') end
if t.status ~= 'STATUS_RUNNING' then return reply('refused', false, {t.status}) end
if t.leaseToken ~= ARGV[3] then return reply('refused', false, {'lost'}) end
extend_lease(k, id, t.type, ARGV[4], now_ms())
return reply('ok')
