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
local t = load(k, 'status', 'gen', 'type', 'startedAt', 'attempt')
if not t.status then return reply('gone') end
if t.status ~= 'STATUS_SCHEDULED' or (ARGV[3] ~= '' and t.gen ~= ARGV[3]) then
  return reply('refused', false, {t.status})
end
take(k, id, t.type, t, ARGV[4], ARGV[5], ARGV[6], ARGV[7], now_ms())
return reply('ok', k)
