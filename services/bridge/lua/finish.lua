-- Forget a Nextcloud task the bridge has reported (or found gone), if this instance holds it.
-- KEYS[1] - the task's bridge hash ({p}:bridge:nc:{id})
-- KEYS[2] - the bridge lease set ({p}:bridge:leases)
-- ARGV[1] - Nextcloud task id
-- ARGV[2] - this bridge instance
-- Returns 1 when forgotten, 0 when another instance holds it.
local nc_id, instance = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], 'owner') ~= instance then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], nc_id)
return 1
