-- A dispatcher starts jobs: the due jobs of a queue that no worker runs yet, each marked in
-- progress as arq's own start_jobs does with WATCH/MULTI per job (services/dispatcher/jobs.py
-- calls this instead: one round trip for all of them). A started job leaves the due range
-- (scored at the end of its marker's life), so later pickups do not read past running jobs;
-- finishing removes it, running it again puts it back in line (JobWorker.finish_job), and a
-- job whose worker died is the orphan and lease sweeps' (rescue.lua, expire.lua).
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - the queue
-- ARGV[2]    - how many jobs to start at most (the worker's free slots)
-- ARGV[3]    - how many queue entries to read at most
-- ARGV[4]    - in-progress marker lifetime, ms
-- Answers {'ok', {}, {job id, score, job id, score, …}}: the jobs this worker now runs.
local now = now_ms()
local want, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local started, offset = {}, 0
-- Running jobs stay at the head of the queue until they finish: read it in small pieces.
while #started < 2 * want and offset < limit do
  local n = math.min(limit - offset, 2 * want + 32)
  local head = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'WITHSCORES', 'LIMIT', offset, n)
  for i = 1, #head, 2 do
    if #started >= 2 * want then break end
    if redis.call('SET', ARQ.in_progress_key(head[i]), '1', 'NX', 'PX', ARGV[4]) then
      redis.call('ZADD', KEYS[6], 'XX', now + tonumber(ARGV[4]), head[i])
      table.insert(started, head[i])
      table.insert(started, head[i + 1])
    end
  end
  if #head < 2 * n then break end
  offset = offset + n
end
return reply('ok', false, started)
