-- Delete a task and its index entries; a running task is announced as cancelled first, so its
-- worker stops.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:{<id>}
-- KEYS[7]    - {p}:task:{<id>}:files
-- ARGV[2]    - task id
-- ARGV[3]    - caller kind: '*' (operator), 'user', 'guest' or 'exapp' (see owned())
-- ARGV[4]    - caller: user id, guest address or ExApp id
-- Any status -> gone: {'ok', {}, {file ids the task referenced}} (the caller releases them).
-- Not there or not the caller's: {'gone', {}, {}}.
local id, k = ARGV[2], KEYS[6]
local t = load(k, 'status', 'type', 'userId', 'guest', 'exApp')
if not t.status or not owned(t, ARGV[3], ARGV[4]) then return reply('gone') end
if t.status == 'STATUS_SCHEDULED' or t.status == 'STATUS_RUNNING' then
  redis.call('PUBLISH', K.chan_task, id .. ' STATUS_CANCELLED')
end
if t.userId then redis.call('ZREM', K.user_tasks(t.userId), id) end
redis.call('ZREM', K.scheduled(t.type), id)
redis.call('ZREM', K.running(t.type), id)
redis.call('ZREM', LEASES, id)
redis.call('ZREM', UPDATED, id)
local files = redis.call('SMEMBERS', KEYS[7])
redis.call('DEL', k, KEYS[7])
return reply('ok', false, files)
