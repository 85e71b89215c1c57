-- Delete a task and its index entries. ARGV: prefix, id, owner ('*', '' or user id).
-- A running task is announced as cancelled first so its worker stops. Returns the file ids the
-- task referenced (for the caller to remove output files), or nil if nothing was deleted.
local id = ARGV[2]
local k = task_key(id)
if redis.call('EXISTS', k) == 0 or not owned(k, ARGV[3]) then return nil end
local ttype = redis.call('HGET', k, 'type')
local st = redis.call('HGET', k, 'status')
if st == 'STATUS_SCHEDULED' or st == 'STATUS_RUNNING' then
  redis.call('PUBLISH', P .. ':chan:task', id .. ' STATUS_CANCELLED')
end
local uid = redis.call('HGET', k, 'userId')
if uid then redis.call('ZREM', P .. ':tasks:user:' .. uid, id) end
drop_from_queues(id, ttype)
redis.call('ZREM', P .. ':tasks:updated', id)
local files = redis.call('SMEMBERS', P .. ':task:' .. id .. ':files')
redis.call('DEL', k, P .. ':task:' .. id .. ':files')
return files
