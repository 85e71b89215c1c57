-- Renew this instance's hold on the Nextcloud tasks it works on.
-- KEYS[1]    - the bridge lease set ({p}:bridge:leases)
-- KEYS[2..n] - the bridge hashes of the tasks, in the order of ARGV[3..]
-- ARGV[1]    - this bridge instance
-- ARGV[2]    - lease length (ms)
-- ARGV[3..]  - Nextcloud task ids
-- Returns the ids this instance no longer holds (adopted by another replica, or finished).
local instance, lease_ms = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[i - 1], 'owner') == instance then
    redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
