-- Rescue scheduled tasks whose arq job can no longer run them. ARGV: prefix, ids…
-- A scheduled task whose current job is gone (it ran without claiming: no provider there, or a
-- Redis error) or is marked in progress (its worker died between pickup and claim; a live
-- worker claims within milliseconds) gets a new generation and a new job. The caller passes
-- only tasks that have waited longer than that. Returns the rescued ids.
local rescued = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = task_key(id)
  if redis.call('HGET', k, 'status') == 'STATUS_SCHEDULED' then
    local job = P .. ':run:' .. id .. ':' .. (redis.call('HGET', k, 'gen') or '0')
    if redis.call('EXISTS', 'arq:job:' .. job) == 0
        or redis.call('EXISTS', 'arq:in-progress:' .. job) == 1 then
      drop_job(id)
      local now = now_ms()
      enqueue_run(id, redis.call('HINCRBY', k, 'gen', 1), now)
      touch(id, now)
      table.insert(rescued, id)
    end
  end
end
return rescued
