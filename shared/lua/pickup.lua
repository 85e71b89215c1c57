-- A dispatcher starts jobs: the due jobs of a queue that no worker runs yet, each marked in
-- progress as arq's own start_jobs does with WATCH/MULTI per job (services/dispatcher/jobs.py
-- calls this instead: one round trip for all of them). A started job leaves the due range
-- (scored at the end of its marker's life), so later pickups do not read past running jobs;
-- finishing removes it, running it again puts it back in line (JobWorker.finish_job), and a
-- job whose worker died is the orphan and lease sweeps' (rescue.lua, expire.lua).
-- A started job's task is claimed at once, as claim.lua would, when its type is one this
-- dispatcher serves (ARGV[8..]): the job then runs it without another round trip.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6]    - the queue
-- ARGV[2]    - how many jobs to start at most (the worker's free slots)
-- ARGV[3]    - how many queue entries to read at most
-- ARGV[4]    - in-progress marker lifetime, ms
-- ARGV[5]    - lease owner of the claims ('' : claim nothing)
-- ARGV[6]    - lease, ms
-- ARGV[7]    - lease token prefix: a claimed task's token is '<prefix>:<id>'
-- ARGV[8..]  - task type, provider id pairs: the local providers to claim tasks for
-- Answers {'ok', {}, {{job id, score, job id, score, …}, {task, task, …}}}: the jobs this
-- worker now runs, and the tasks among them claimed (SCHEDULED of the job's generation ->
-- RUNNING; each a flat hash).
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
local served, claimed = {}, {}
for i = 8, #ARGV, 2 do served[ARGV[i]] = ARGV[i + 1] end
for i = 1, ((ARGV[5] or '') ~= '' and #started or 0), 2 do
  local id, gen = ARQ.run_job_task(started[i])
  local k = id and K.task(id)
  if k and claim_scheduled(k, id, gen, function(ttype) return served[ttype] end, ARGV[5],
      ARGV[7] .. ':' .. id, ARGV[6], now) then
    table.insert(claimed, redis.call('HGETALL', k))
  end
end
return reply('ok', false, {started, claimed})
