-- Create a task and queue its job.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - {p}:task:seq
-- KEYS[7]    - {p}:tasks:user:{uid}, the user's index ('' for a task without user)
-- ARGV[2]    - task type
-- ARGV[3]    - expected runtime, seconds
-- ARGV[4]    - input file ids, comma-separated
-- ARGV[5]    - '1': an external provider serves the type (announce it on chan:ready)
-- ARGV[6..]  - field, value pairs of the new task (shared.tasks.TaskField)
-- SCHEDULED. Answers {'ok', {}, {id, scheduledAt}}: the caller knows the rest of the task.
local ttype = ARGV[2]
local now = now_ms()
local id = redis.call('INCR', KEYS[6])
local k = K.task(id)
local s = sec(now)
local f = {'id', id, 'type', ttype, 'status', 'STATUS_SCHEDULED', 'scheduledAt', s,
  'lastUpdated', s, 'completionExpectedAt', s + tonumber(ARGV[3]), 'attempt', 0, 'gen', 1}
for i = 6, #ARGV do table.insert(f, ARGV[i]) end
redis.call('HSET', k, unpack(f))
-- scored by id: schedule order without ties, so a listing can read the newest first
if KEYS[7] ~= '' then redis.call('ZADD', KEYS[7], id, id) end
link_files(K.files(id), ARGV[4])
redis.call('ZADD', UPDATED, s, id)
redis.call('ZADD', K.scheduled(ttype), now, id)
ARQ.enqueue_run(id, 1, ttype, now)
if ARGV[5] == '1' then redis.call('PUBLISH', K.chan_ready, ttype) end
return reply('ok', false, {id, s})
