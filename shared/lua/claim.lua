-- A dispatcher's job claims its task for a local provider.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- ARGV[2]    - task id
-- ARGV[3]    - the job's generation ('' = any)
-- ARGV[4]    - lease owner (the dispatcher's worker id)
-- ARGV[5]    - lease token
-- ARGV[6]    - lease, ms
-- ARGV[7]    - provider id
-- SCHEDULED (of that generation) -> RUNNING: {'ok', task, {}}. Otherwise nothing changes:
-- {'refused', {}, {status}} or {'gone', {}, {}}.
local id, k = ARGV[2], KEYS[6]
local claimed, status = claim_scheduled(k, id, ARGV[3], function() return ARGV[7] end, ARGV[4],
  ARGV[5], ARGV[6], now_ms())
if claimed then return reply('ok', k) end
if not status then return reply('gone') end
return reply('refused', false, {status})
