-- The dispatchers' job queue, written the way arq 0.28 stores jobs: the only Lua that knows
-- arq. Its Python side is services/dispatcher/jobs.py; tests/dispatcher/test_arq_contract.py
-- holds both to the installed arq. A task's job id is "{p}:run:{id}:{gen}": each (re)queue is
-- a new generation, so a job of an older one cannot claim the task.
local ARQ = {}
function ARQ.job_key(job) return 'arq:job:' .. job end
function ARQ.in_progress_key(job) return 'arq:in-progress:' .. job end
function ARQ.retry_key(job) return 'arq:retry:' .. job end
function ARQ.run_job(id, gen) return P .. ':run:' .. id .. ':' .. gen end
function ARQ.hook_job(id, n) return P .. ':hook:' .. id .. ':' .. n end
-- The task id and generation of a run job's id (nil for any other job).
function ARQ.run_job_task(job)
  local head = P .. ':run:'
  if job:sub(1, #head) ~= head then return nil end
  return job:sub(#head + 1):match('^(%d+):(%d+)$')
end
ARQ.JOB_TTL_MS = 30 * 86400000
-- Queue one job: arq's payload (serialised as JSON) and the queue entry, then wake workers.
function ARQ.enqueue(queue, job, fn, args_json, now)
  redis.call('SET', ARQ.job_key(job), '{"t":null,"f":"' .. fn .. '","a":' .. args_json ..
    ',"k":{},"et":' .. now .. '}', 'PX', ARQ.JOB_TTL_MS)
  redis.call('ZADD', queue, now, job)
  redis.call('PUBLISH', K.chan_wake, job)
end
-- The job that runs generation gen of a task: run_task(id, gen, type).
function ARQ.enqueue_run(id, gen, ttype, now)
  ARQ.enqueue(QUEUE, ARQ.run_job(id, gen),
    'run_task', '[' .. id .. ',' .. gen .. ',' .. cjson.encode(ttype) .. ']', now)
end
-- Queue a webhook delivery of a finished task (t: its webhookUri and webhookMethod).
function ARQ.enqueue_webhook(k, id, t, now)
  if not t.webhookUri or not t.webhookMethod or t.webhookUri == ''
      or t.webhookMethod == '' then return end
  local n = redis.call('HINCRBY', k, 'webhookSeq', 1)
  ARQ.enqueue(HOOKS, ARQ.hook_job(id, n), 'fire_webhook', '[' .. id .. ']', now)
end
-- Remove a generation's job: queue entry, payload, arq's in-progress and retry markers.
function ARQ.drop_run(id, gen)
  local job = ARQ.run_job(id, gen or '0')
  redis.call('ZREM', QUEUE, job)
  redis.call('DEL', ARQ.job_key(job), ARQ.in_progress_key(job), ARQ.retry_key(job))
end
-- A generation's job can no longer run its task: it is gone (it ran without claiming) or
-- marked in progress (its worker died between pickup and claim).
function ARQ.orphaned(id, gen)
  local job = ARQ.run_job(id, gen or '0')
  return redis.call('EXISTS', ARQ.job_key(job)) == 0
    or redis.call('EXISTS', ARQ.in_progress_key(job)) == 1
end
