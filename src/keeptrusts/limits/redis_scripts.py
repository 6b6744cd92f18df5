"""The Lua scripts of the Redis backend: each check-and-update is one script, one round trip.

Keys of one subject share a hash tag (`{kt:rl:tenant:team-a}:w`), so a script only touches
one Redis Cluster slot. Window buckets (which second, day or quarter-hour) come from the
calling replica's clock (`now`, epoch seconds); lease expiry (parallel slots, reservations,
settled ids) comes from Redis's own clock (`TIME`), so a replica whose clock is ahead cannot
sweep the leases of the others. Money is integer nano-dollars, so INCRBY sums are exact.

Rate subject:   `<tag>:w` hash  `r:<second>` -> requests, `t:<second>` -> tokens (60 s window)
                `<tag>:p` zset  lease id -> expiry (parallel slots; refreshed while held)
Budget subject: `<tag>:s` hash  `<bucket>` -> settled nano-USD (see `windows.py`)
                `<tag>:r` zset  reservation id -> expiry
                `<tag>:a` hash  reservation id -> reserved nano-USD
                `<tag>:t` string  sum of `<tag>:a` (kept in step by every script)
                `<tag>:d` zset  settled reservation id -> expiry (a retried settle is a no-op)
"""

from __future__ import annotations

# Integers that can exceed 1e14 (nano-dollars) go to Redis as the caller's strings: Lua
# would print them in exponent notation, which INCRBY refuses.

# Redis's clock, for lease expiry (TIME in a script needs effects replication: the default
# since Redis 5, switched on here for older servers).
_CLOCK = """
if redis.replicate_commands then redis.replicate_commands() end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# Drop buckets older than the window, sum the rest (requests and tokens apart), and return
# the seconds until `need` units leave the window (for Retry-After).
_RATE_COMMON = (
    _CLOCK
    + """
local function load(key, now)
  local sec = math.floor(now)
  local oldest = sec - 59
  local all = redis.call('HGETALL', key)
  local r, t, stale = {}, {}, {}
  local reqs, toks = 0, 0
  for i = 1, #all, 2 do
    local f = all[i]
    local s = tonumber(string.sub(f, 3))
    local v = tonumber(all[i + 1])
    if s < oldest then
      stale[#stale + 1] = f
    elseif string.sub(f, 1, 1) == 'r' then
      r[#r + 1] = {s, v}; reqs = reqs + v
    else
      t[#t + 1] = {s, v}; toks = toks + v
    end
  end
  for i = 1, #stale, 500 do
    redis.call('HDEL', key, unpack(stale, i, math.min(i + 499, #stale)))
  end
  return sec, r, t, reqs, toks
end

local function wait_for(buckets, need, now)
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  local total = 0
  for _, b in ipairs(buckets) do
    total = total + b[2]
    if total >= need then return math.max(0, b[1] + 60 - now) end
  end
  return 60
end
"""
)

#: KEYS: window hash, leases zset. ARGV: now, rpm, tpm, tokens, max_parallel, lease, lease_ttl
#: -> {refused, retry_after (string), requests, tokens, parallel, bucket}
RATE_ACQUIRE = (
    _RATE_COMMON
    + """
local now = tonumber(ARGV[1])
local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens, maxp = tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl = tonumber(ARGV[7])
local sec, r, t, reqs, toks = load(KEYS[1], now)
local clk = clock()
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', clk)
local par = redis.call('ZCARD', KEYS[2])
local refused, wait = 0, 0
if rpm > 0 and reqs + 1 > rpm then
  refused = 1; wait = wait_for(r, reqs + 1 - rpm, now)
elseif tpm > 0 and toks + tokens > tpm then
  refused = 2; wait = 60
  if tokens <= tpm then wait = wait_for(t, toks + tokens - tpm, now) end
elseif maxp > 0 and par + 1 > maxp then
  refused = 3; wait = 1
end
if refused > 0 then
  return {refused, tostring(wait), reqs, toks, par, sec}
end
redis.call('HINCRBY', KEYS[1], 'r:' .. sec, 1)
if tokens > 0 then redis.call('HINCRBY', KEYS[1], 't:' .. sec, ARGV[4]) end
redis.call('EXPIRE', KEYS[1], 120)
if maxp > 0 then
  redis.call('ZADD', KEYS[2], clk + ttl, ARGV[6])
  par = par + 1
  redis.call('EXPIRE', KEYS[2], math.ceil(ttl * 2))
end
return {0, '0', reqs + 1, toks + tokens, par, sec}
"""
)

#: KEYS: window hash, leases zset. ARGV: now, lease, bucket, token_delta, request_delta
RATE_RELEASE = """
local now = tonumber(ARGV[1])
local bucket = tonumber(ARGV[3])
local dt, dr = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[2])
local sec = math.floor(now)
local live = bucket >= sec - 59
local function add(field, delta)
  local v = tonumber(redis.call('HGET', KEYS[1], field) or '0') + delta
  if v > 0 then redis.call('HSET', KEYS[1], field, v) else redis.call('HDEL', KEYS[1], field) end
end
if dt > 0 and dr == 0 then
  redis.call('HINCRBY', KEYS[1], 't:' .. sec, ARGV[4])
  redis.call('EXPIRE', KEYS[1], 120)
elseif dt < 0 and live then
  add('t:' .. bucket, dt)
end
if dr ~= 0 and live then add('r:' .. bucket, dr) end
return 1
"""

#: KEYS: window hash, leases zset. ARGV: now -> {requests, tokens, parallel}
RATE_STATE = (
    _RATE_COMMON
    + """
local now = tonumber(ARGV[1])
local sec, r, t, reqs, toks = load(KEYS[1], now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', clock())
return {reqs, toks, redis.call('ZCARD', KEYS[2])}
"""
)

# Sweep expired reservations (a crashed replica's) and sum the window's live spend buckets.
_BUDGET_COMMON = (
    _CLOCK
    + """
local function sweep(clk)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', clk)
  for _, id in ipairs(gone) do
    local amt = redis.call('HGET', KEYS[3], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
    if amt then redis.call('DECRBY', KEYS[4], amt) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', clk)
  return tonumber(redis.call('GET', KEYS[4]) or '0')
end

local function spent(bucket, buckets)
  local oldest = bucket - buckets + 1
  local all = redis.call('HGETALL', KEYS[1])
  local sum = 0
  for i = 1, #all, 2 do
    if tonumber(all[i]) < oldest then
      redis.call('HDEL', KEYS[1], all[i])
    else
      sum = sum + tonumber(all[i + 1])
    end
  end
  return sum
end

-- The bucket whose leaving lets `amount` fit beside the settled spend `s` (oldest spend
-- leaves first); -1 when it fits already (only reservations in flight are in the way).
local function frees(bucket, buckets, s, amount, limit)
  if s + amount <= limit then return -1 end
  local oldest = bucket - buckets + 1
  local all = redis.call('HGETALL', KEYS[1])
  local live = {}
  for i = 1, #all, 2 do
    local b = tonumber(all[i])
    if b >= oldest then live[#live + 1] = {b, tonumber(all[i + 1])} end
  end
  table.sort(live, function(x, y) return x[1] < y[1] end)
  local left = s
  for _, e in ipairs(live) do
    left = left - e[2]
    if left + amount <= limit then return e[1] end
  end
  return bucket
end
"""
)

#: KEYS: spent hash, reservations zset, amounts hash, reserved total, settled zset.
#: ARGV: now, bucket, buckets, limit, amount, reservation, lease_ttl
#: -> {admitted, spent, reserved, bucket whose leaving frees room (-1: none needed)}
BUDGET_RESERVE = (
    _BUDGET_COMMON
    + """
local limit, amount = tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl = tonumber(ARGV[7])
local clk = clock()
local reserved = sweep(clk)
local bucket, buckets = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = spent(bucket, buckets)
if redis.call('HEXISTS', KEYS[3], ARGV[6]) == 1 then
  return {1, s, reserved, -1}  -- a retried call: already reserved
end
if redis.call('ZSCORE', KEYS[5], ARGV[6]) then
  -- settled (or cancelled) already: a call that ran late, after its request gave up
  return {1, s, reserved, -1}
end
if s + reserved + amount > limit then
  return {0, s, reserved, frees(bucket, buckets, s, amount, limit)}
end
redis.call('ZADD', KEYS[2], clk + ttl, ARGV[6])
redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
reserved = redis.call('INCRBY', KEYS[4], ARGV[5])
local keep = math.ceil(ttl * 2)
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], keep) end
return {1, s, reserved, -1}
"""
)

#: KEYS: as BUDGET_RESERVE. ARGV: now, bucket, buckets, reservation, actual, spent_ttl,
#: lease_ttl
#: -> {spent, reserved}
BUDGET_SETTLE = (
    _BUDGET_COMMON
    + """
local clk = clock()
if redis.call('ZSCORE', KEYS[5], ARGV[4]) then  -- a retried call: already settled
  local reserved = sweep(clk)
  return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
end
redis.call('ZADD', KEYS[5], clk + tonumber(ARGV[7]), ARGV[4])
redis.call('EXPIRE', KEYS[5], math.ceil(tonumber(ARGV[7]) * 2))
local amt = redis.call('HGET', KEYS[3], ARGV[4])
if amt then
  redis.call('HDEL', KEYS[3], ARGV[4])
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('DECRBY', KEYS[4], amt)
end
local actual = tonumber(ARGV[5])
if actual > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[5])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
end
local reserved = sweep(clk)
return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
"""
)

#: KEYS: as BUDGET_RESERVE. ARGV: now, bucket, buckets -> {spent, reserved}
BUDGET_STATE = (
    _BUDGET_COMMON
    + """
local reserved = sweep(clock())
return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
"""
)

#: Extend leases this replica still holds. KEYS: zset, then keys whose TTL follows it.
#: ARGV: lease_ttl, key_ttl, lease ids... (XX: a lease already swept is not brought back)
REFRESH = (
    _CLOCK
    + """
local expiry = clock() + tonumber(ARGV[1])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2])) end
return 1
"""
)
