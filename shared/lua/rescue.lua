-- The orphan sweep: scheduled tasks whose job can no longer run them get a new generation and
-- a new job (see ARQ.orphaned: a job that ran without claiming, or one whose worker died
-- between pickup and claim; a live worker claims within milliseconds, and the caller passes
-- only tasks that have waited longer than that).
-- KEYS[1..5] - the prelude's (common.lua)
-- ARGV[2..]  - task ids
-- SCHEDULED stays SCHEDULED. Answers {'ok', {}, {rescued ids…}}.
local rescued = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = K.task(id)
  local t = load(k, 'status', 'type', 'gen')
  if t.status == 'STATUS_SCHEDULED' and ARQ.orphaned(id, t.gen) then
    ARQ.drop_run(id, t.gen)
    local now = now_ms()
    ARQ.enqueue_run(id, redis.call('HINCRBY', k, 'gen', 1), t.type, now)
    redis.call('HSET', k, 'lastUpdated', sec(now))
    table.insert(rescued, id)
  end
end
return reply('ok', false, rescued)
