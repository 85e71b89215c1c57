-- Take over a held Nextcloud task whose holder stopped renewing (killed, stalled, gone).
-- KEYS[1] - the task's bridge hash ({p}:bridge:nc:{id})
-- KEYS[2] - the bridge lease set ({p}:bridge:leases)
-- ARGV[1] - Nextcloud task id
-- ARGV[2] - this bridge instance
-- ARGV[3] - lease length (ms)
-- Returns 1 when this instance now holds the task, 0 when its lease is live or it is gone.
local nc_id, instance, lease_ms = ARGV[1], ARGV[2], ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[2], nc_id)
if not expiry or tonumber(expiry) > now then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], nc_id)
  return 0
end
redis.call('HSET', KEYS[1], 'owner', instance)
redis.call('HINCRBY', KEYS[1], 'adoptions', 1)
redis.call('ZADD', KEYS[2], now + tonumber(lease_ms), nc_id)
return 1
