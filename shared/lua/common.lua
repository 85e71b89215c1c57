-- The prelude of every script: shared/scripts.py loads it, then arq.lua, before each script.
-- ARGV[1] of every script is the key prefix P. KEYS[1..5] of every script are the fixed keys
-- below; a script's own keys follow from KEYS[6] (a script acting on one task gets that task's
-- hash and files set, both tagged with the task id). The K helpers build, in the format of
-- shared/keys.py, only the names of keys that depend on what a script reads: a task's type,
-- the tasks it finds in an index, a file.
-- Every script answers one shape: {code, task, data}. code is 'ok', 'gone' (no such task, or
-- not the caller's) or 'refused' (the task's state or the lease fence refuses the change);
-- task is the task's hash as a flat list ({} when not asked for); data is a list of extras.
-- Times come from the server clock (TIME), so gateways with skewed clocks agree.
local P = ARGV[1]
local LEASES = KEYS[1]   -- {p}:leases          every running task, score = lease expiry ms
local UPDATED = KEYS[2]  -- {p}:tasks:updated   every task, score = lastUpdated (cleanup)
local QUEUE = KEYS[3]    -- {p}:queue           the dispatchers' job queue (arq.lua)
local HOOKS = KEYS[4]    -- the job queue webhook deliveries go to
local UNREFERENCED = KEYS[5]  -- {p}:files:unreferenced  uploads no task references yet
local K = {}
function K.task(id) return P .. ':task:{' .. id .. '}' end
function K.files(id) return P .. ':task:{' .. id .. '}:files' end
function K.scheduled(ttype) return P .. ':tasks:scheduled:' .. ttype end
function K.running(ttype) return P .. ':tasks:running:' .. ttype end
function K.user_tasks(uid) return P .. ':tasks:user:' .. uid end
function K.file(fid) return P .. ':file:' .. fid end
K.chan_task = P .. ':chan:task'    -- pub/sub: "{id} {status}" when cancelled or finished
K.chan_ready = P .. ':chan:ready'  -- pub/sub: a task of this type became claimable
K.chan_wake = P .. ':chan:wake'    -- pub/sub: a job was queued
local LEASE_FIELDS = {'leaseToken', 'leaseExpires', 'leaseOwner'}

local function reply(code, k, data)
  return {code, k and redis.call('HGETALL', k) or {}, data or {}}
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function sec(ms) return math.floor(ms / 1000) end
-- The fields of a task hash, as a table (HMGET).
local function load(k, ...)
  local names, out = {...}, {}
  local values = redis.call('HMGET', k, unpack(names))
  for i, n in ipairs(names) do out[n] = values[i] end
  return out
end
-- The caller owns the task: kind '*' (operator), 'user' (userId), 'guest' (a task without user
-- made from that client address) or 'exapp' (a task without user made by that ExApp).
-- t holds the fields userId, guest and exApp. shared.tasks.Owner applies the same rule.
local function owned(t, kind, who)
  if kind == '*' then return true end
  if kind == 'user' then return t.userId == who end
  if t.userId then return false end
  if kind == 'guest' then return t.guest == who end
  return kind == 'exapp' and not t.guest and t.exApp == who
end
-- Record where a running task's lease ends: the type's running set and the sweep's set.
local function index_lease(id, ttype, expires)
  redis.call('ZADD', K.running(ttype), expires, id)
  redis.call('ZADD', LEASES, expires, id)
end
local function extend_lease(k, id, ttype, lease_ms, now)
  local expires = now + tonumber(lease_ms)
  redis.call('HSET', k, 'leaseExpires', expires)
  index_lease(id, ttype, expires)
end
-- SCHEDULED -> RUNNING under a new lease (claim_scheduled, claim_next.lua). t: the task's fields
-- startedAt and attempt.
local function take(k, id, ttype, t, owner, token, lease_ms, provider, now)
  local expires = now + tonumber(lease_ms)
  local f = {'status', 'STATUS_RUNNING', 'leaseOwner', owner, 'leaseToken', token,
    'leaseExpires', expires, 'provider', provider, 'attempt', tonumber(t.attempt or '0') + 1,
    'lastUpdated', sec(now)}
  if not t.startedAt then
    table.insert(f, 'startedAt')
    table.insert(f, sec(now))
  end
  redis.call('HSET', k, unpack(f))
  redis.call('ZREM', K.scheduled(ttype), id)
  index_lease(id, ttype, expires)
end
-- A dispatcher's claim (claim.lua, pickup.lua): a SCHEDULED task of generation gen ('' = any)
-- -> RUNNING for provider(type) (nil: a type this claimer does not serve). Answers true, or
-- false and the task's status (nil when there is no such task).
local function claim_scheduled(k, id, gen, provider, owner, token, lease_ms, now)
  local t = load(k, 'status', 'gen', 'type', 'startedAt', 'attempt')
  local pid = t.type and provider(t.type)
  if t.status ~= 'STATUS_SCHEDULED' or (gen ~= '' and t.gen ~= gen) or not pid then
    return false, t.status
  end
  take(k, id, t.type, t, owner, token, lease_ms, pid, now)
  return true
end
-- Link files to a task (comma-separated ids): they are kept with it and deleted with it.
local function link_files(files, csv)
  for fid in string.gmatch(csv, '[^,]+') do
    if redis.call('SADD', files, fid) == 1 then
      redis.call('HINCRBY', K.file(fid), 'refs', 1)
    end
    redis.call('ZREM', UNREFERENCED, fid)
  end
end
