-- Hold a Nextcloud task the bridge has just claimed upstream, unless a replica already holds it.
-- KEYS[1] - the task's bridge hash ({p}:bridge:nc:{id})
-- KEYS[2] - the bridge lease set ({p}:bridge:leases)
-- ARGV[1] - Nextcloud task id
-- ARGV[2] - the Nextcloud task as claimed (JSON)
-- ARGV[3] - provider id it was claimed for
-- ARGV[4] - this bridge instance
-- ARGV[5] - lease length (ms)
-- Returns 1 when this instance now holds the task, 0 when it was held already.
local nc_id, nc_json, provider, instance, lease_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'nc', nc_json, 'provider', provider, 'owner', instance, 'since', now)
redis.call('ZADD', KEYS[2], now + tonumber(lease_ms), nc_id)
return 1
