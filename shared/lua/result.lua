-- The lease holder stores the result.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- KEYS[7]    - {p}:task:{<id>}:files
-- ARGV[2]    - task id
-- ARGV[3]    - STATUS_SUCCESSFUL or STATUS_FAILED
-- ARGV[4]    - output JSON ('' = none)
-- ARGV[5]    - errorMessage ('' = none; kept to 1000 characters)
-- ARGV[6]    - userFacingErrorMessage ('' = none)
-- ARGV[7]    - lease token (required: there is no result without a claim)
-- ARGV[8]    - '1': progress becomes 1 (a success, or an output that failed validation)
-- ARGV[9]    - output file ids, comma-separated
-- ARGV[10]   - '1': answer with the task
-- RUNNING under this token -> the status given: 'ok'. Anything else (cancelled, finished, a
-- stale claim) drops the result: 'refused'. A task that does not exist: 'gone'.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'leaseToken', 'type', 'webhookUri', 'webhookMethod')
if not t.status then return reply('gone') end
local want = ARGV[10] == '1' and k
if t.status ~= 'STATUS_RUNNING' or ARGV[7] == '' or t.leaseToken ~= ARGV[7] then
  return reply('refused', want)
end
local extra = {}
if ARGV[4] ~= '' then
  extra = {'output', ARGV[4]}
  link_files(KEYS[7], ARGV[9])
end
if ARGV[8] == '1' then table.insert(extra, 'progress'); table.insert(extra, 1) end
if ARGV[5] ~= '' then
  table.insert(extra, 'errorMessage'); table.insert(extra, string.sub(ARGV[5], 1, 1000))
end
if ARGV[6] ~= '' then
  table.insert(extra, 'userFacingErrorMessage'); table.insert(extra, ARGV[6])
end
finish(k, id, t.type, t, ARGV[3], now_ms(), extra)
return reply('ok', want)
