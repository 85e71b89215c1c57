-- A dispatcher announces one free slot for the task types it serves, withdrawing the one it
-- announced before: schedule.lua claims a new task of such a type for the freshest slot and
-- pushes it to the type's handoff list, which the dispatcher waits on (BLPOP). A slot is
-- '<registry generation>|<lease ms>|<provider id>|<token prefix>|<owner>', scored by the time
-- it lapses; schedule.lua takes it only under the same registry generation.
-- KEYS[1..5] - the prelude's (common.lua)
-- KEYS[6..]  - {p}:idle:{type} of each type served
-- ARGV[2]    - how long the slot stands, ms (0: withdraw only)
-- ARGV[3..]  - per key: the slot announced before ('' : none), the new slot
-- Answers {'ok', {}, {server time ms}}: the caller's clock offset for handed-off tasks' leases.
local now = now_ms()
local stand = tonumber(ARGV[2])
for i = 6, #KEYS do
  local old, new = ARGV[2 * (i - 6) + 3], ARGV[2 * (i - 6) + 4]
  if old ~= '' then redis.call('ZREM', KEYS[i], old) end
  if stand > 0 and new ~= '' then
    redis.call('ZADD', KEYS[i], now + stand, new)
    redis.call('PEXPIRE', KEYS[i], stand)
  end
end
return reply('ok', false, {now})
