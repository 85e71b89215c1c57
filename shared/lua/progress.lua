-- The lease holder reports progress (and, with a lease length, extends its lease).
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- ARGV[3]    - progress, 0..1
-- ARGV[4]    - lease token (required: there is no progress without a claim)
-- ARGV[5]    - lease, ms ('' = keep the expiry)
-- ARGV[6]    - '1': answer with the task
-- RUNNING under this token stays RUNNING: 'ok'. Any other status or token: 'refused', nothing
-- changes. A task that does not exist: 'gone'.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'leaseToken', 'type')
if not t.status then return reply('gone') end
local want = ARGV[6] == '1' and k
if t.status ~= 'STATUS_RUNNING' or ARGV[4] == '' or t.leaseToken ~= ARGV[4] then
  return reply('refused', want)
end
local now = now_ms()
redis.call('HSET', k, 'progress', ARGV[3], 'lastUpdated', sec(now))
if ARGV[5] ~= '' then extend_lease(k, id, t.type, ARGV[5], now) end
return reply('ok', want)
