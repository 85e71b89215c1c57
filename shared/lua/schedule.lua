-- Create a task and queue it. ARGV: prefix, type, userId ('' = none), hasUser (0/1), appId,
-- customId, input JSON, webhookUri, webhookMethod, includeWatermark (0/1), expected runtime s,
-- input file ids (comma-separated), guest address ('' = not a guest).
-- Returns the new task as a flat hash.
local ttype, uid, has_user = ARGV[2], ARGV[3], ARGV[4] == '1'
local now = now_ms()
local id = redis.call('INCR', P .. ':task:seq')
local k = task_key(id)
local sec = math.floor(now / 1000)
redis.call('HSET', k, 'id', id, 'type', ttype, 'status', 'STATUS_SCHEDULED', 'appId', ARGV[5],
  'customId', ARGV[6], 'input', ARGV[7], 'scheduledAt', sec, 'lastUpdated', sec,
  'completionExpectedAt', sec + tonumber(ARGV[11]), 'includeWatermark', ARGV[10],
  'allowCleanup', '1', 'attempt', 0, 'gen', 1)
if has_user then
  redis.call('HSET', k, 'userId', uid)
  redis.call('ZADD', P .. ':tasks:user:' .. uid, sec, id)
end
if ARGV[13] ~= '' then redis.call('HSET', k, 'guest', ARGV[13]) end
if ARGV[8] ~= '' then redis.call('HSET', k, 'webhookUri', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', k, 'webhookMethod', ARGV[9]) end
link_files(id, ARGV[12])
redis.call('ZADD', P .. ':tasks:updated', sec, id)
redis.call('ZADD', P .. ':tasks:scheduled:' .. ttype, now, id)
enqueue_run(id, 1, now)
redis.call('PUBLISH', P .. ':chan:ready', ttype)
return redis.call('HGETALL', k)
