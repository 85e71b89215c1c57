-- An external provider (ExApp) claims the oldest scheduled tasks of several task types.
-- KEYS[1..5] - the prelude's (common.lua)
-- ARGV[2]    - lease owner (the ExApp id)
-- ARGV[3]    - how many tasks to claim at most
-- ARGV[4]    - token base (each claim's token is "{base}:{id}")
-- ARGV[5..]  - triples: task type, provider id, lease ms
-- Oldest first across the types (score = the ms the task was first scheduled, id breaks
-- ties); each claim is claim.lua's SCHEDULED -> RUNNING. Answers
-- {'ok', {}, {more waiting 0/1, {{provider id, token, lease expiry ms, task}, …}}}.
local owner, want, base = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local types = {}
for i = 5, #ARGV, 3 do
  table.insert(types, {t = ARGV[i], provider = ARGV[i + 1], lease = ARGV[i + 2]})
end
local function oldest()
  local best, best_score, best_num, best_id = nil, nil, nil, nil
  for _, e in ipairs(types) do
    local head = redis.call('ZRANGE', K.scheduled(e.t), 0, 0, 'WITHSCORES')
    if head[1] then
      local score, num = tonumber(head[2]), tonumber(head[1])
      if best == nil or score < best_score or (score == best_score and num < best_num) then
        best, best_score, best_num, best_id = e, score, num, head[1]
      end
    end
  end
  return best, best_id
end
local claims, guard = {}, 0
while #claims < want and guard < want + 1000 do
  guard = guard + 1
  local e, id = oldest()
  if e == nil then break end
  local k = K.task(id)
  local t = load(k, 'status', 'startedAt', 'attempt')
  if t.status ~= 'STATUS_SCHEDULED' then
    redis.call('ZREM', K.scheduled(e.t), id)  -- a stale index entry
  else
    local now, token = now_ms(), base .. ':' .. id
    take(k, id, e.t, t, owner, token, e.lease, e.provider, now)
    table.insert(claims, {e.provider, token, now + tonumber(e.lease), redis.call('HGETALL', k)})
  end
end
local more = 0
for _, e in ipairs(types) do
  if redis.call('ZCARD', K.scheduled(e.t)) > 0 then more = 1 end
end
return reply('ok', false, {more, claims})
