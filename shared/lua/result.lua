-- Store a result. ARGV: prefix, id, status (STATUS_SUCCESSFUL|STATUS_FAILED), output JSON ('' =
-- none), errorMessage, userFacingErrorMessage ('' = none), token ('' = provider route),
-- complete ('1': progress becomes 1, as for a success or an output that failed validation),
-- output file ids (comma-separated).
-- Only a scheduled or running task takes a result (and, with a token, only from the claim that
-- holds the lease); anything else (cancelled, finished, stale claim) is dropped. Returns
-- {accepted 0/1, task…} or nil when the task does not exist.
local id = ARGV[2]
local k = task_key(id)
local st = redis.call('HGET', k, 'status')
if not st then return nil end
local stale = ARGV[7] ~= '' and redis.call('HGET', k, 'leaseToken') ~= ARGV[7]
if (st ~= 'STATUS_SCHEDULED' and st ~= 'STATUS_RUNNING') or stale then
  local t = redis.call('HGETALL', k)
  table.insert(t, 1, 0)
  return t
end
local now = now_ms()
if ARGV[4] ~= '' then
  redis.call('HSET', k, 'output', ARGV[4])
  link_files(id, ARGV[9])
end
if ARGV[8] == '1' then redis.call('HSET', k, 'progress', 1) end
if ARGV[5] ~= '' then redis.call('HSET', k, 'errorMessage', string.sub(ARGV[5], 1, 1000)) end
if ARGV[6] ~= '' then redis.call('HSET', k, 'userFacingErrorMessage', ARGV[6]) end
finish(id, redis.call('HGET', k, 'type'), ARGV[3], now)
local t = redis.call('HGETALL', k)
table.insert(t, 1, 1)
return t
