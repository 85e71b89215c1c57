-- Claim the oldest scheduled tasks across several task types for an external provider.
-- ARGV: prefix, owner (ExApp id), count, token base, then triples (type, provider id, lease ms).
-- Oldest first across all the types (score = the ms the task became scheduled, id breaks ties).
-- Each claim is what claim.lua does. Returns {has_more 0/1, {provider, token, expiry, task…}…}.
local owner, want, base = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local types = {}
for i = 5, #ARGV, 3 do
  table.insert(types, {t = ARGV[i], provider = ARGV[i + 1], lease = tonumber(ARGV[i + 2])})
end
local function oldest()
  local best, best_score, best_num, best_id = nil, nil, nil, nil
  for _, e in ipairs(types) do
    local head = redis.call('ZRANGE', P .. ':tasks:scheduled:' .. e.t, 0, 0, 'WITHSCORES')
    if head[1] then
      local score, num = tonumber(head[2]), tonumber(head[1])
      if best == nil or score < best_score or (score == best_score and num < best_num) then
        best, best_score, best_num, best_id = e, score, num, head[1]
      end
    end
  end
  return best, best_id
end
local out, claimed, guard = {0}, 0, 0
while claimed < want and guard < want + 1000 do
  guard = guard + 1
  local e, id = oldest()
  if e == nil then break end
  local k = task_key(id)
  if redis.call('HGET', k, 'status') ~= 'STATUS_SCHEDULED' then
    redis.call('ZREM', P .. ':tasks:scheduled:' .. e.t, id)  -- stale index entry
  else
    local now = now_ms()
    local expires, token = now + e.lease, base .. ':' .. id
    redis.call('HINCRBY', k, 'attempt', 1)
    redis.call('HSET', k, 'status', 'STATUS_RUNNING', 'leaseOwner', owner, 'leaseToken', token,
      'leaseExpires', expires, 'provider', e.provider)
    if redis.call('HEXISTS', k, 'startedAt') == 0 then
      redis.call('HSET', k, 'startedAt', math.floor(now / 1000))
    end
    redis.call('ZREM', P .. ':tasks:scheduled:' .. e.t, id)
    redis.call('ZADD', P .. ':tasks:running:' .. e.t, expires, id)
    redis.call('ZADD', P .. ':leases', expires, id)
    touch(id, now)
    redis.call('PUBLISH', P .. ':chan:task', id .. ' STATUS_RUNNING')
    table.insert(out, {e.provider, token, expires, redis.call('HGETALL', k)})
    claimed = claimed + 1
  end
end
for _, e in ipairs(types) do
  if redis.call('ZCARD', P .. ':tasks:scheduled:' .. e.t) > 0 then out[1] = 1 end
end
return out
