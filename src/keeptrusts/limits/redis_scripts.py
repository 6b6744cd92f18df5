"""The Lua scripts of the Redis backend: each check-and-update is one script, one round trip.

Keys of one subject share a hash tag (`{kt:rl:tenant:team-a}:w`), so a script only touches
one Redis Cluster slot. Times are epoch seconds from the calling replica (floats); money
is integer nano-dollars, so INCRBY sums are exact.

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

# Drop buckets older than the window, sum the rest (requests and tokens apart), and return
# the seconds until `need` units leave the window (for Retry-After).
_RATE_COMMON = """
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
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
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
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[6])
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
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return {reqs, toks, redis.call('ZCARD', KEYS[2])}
"""
)

# Sweep expired reservations (a crashed replica's) and sum the window's live spend buckets.
_BUDGET_COMMON = """
local function sweep(now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, id in ipairs(gone) do
    local amt = redis.call('HGET', KEYS[3], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
    if amt then redis.call('DECRBY', KEYS[4], amt) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
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
"""

#: KEYS: spent hash, reservations zset, amounts hash, reserved total, settled zset.
#: ARGV: now, bucket, buckets, limit, amount, reservation, lease_ttl
#: -> {admitted, spent, reserved}
BUDGET_RESERVE = (
    _BUDGET_COMMON
    + """
local now = tonumber(ARGV[1])
local limit, amount = tonumber(ARGV[4]), tonumber(ARGV[5])
local ttl = tonumber(ARGV[7])
local reserved = sweep(now)
local s = spent(tonumber(ARGV[2]), tonumber(ARGV[3]))
if redis.call('HEXISTS', KEYS[3], ARGV[6]) == 1 then
  return {1, s, reserved}  -- a retried call: already reserved
end
if s + reserved + amount > limit then
  return {0, s, reserved}
end
redis.call('ZADD', KEYS[2], now + ttl, ARGV[6])
redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])
reserved = redis.call('INCRBY', KEYS[4], ARGV[5])
local keep = math.ceil(ttl * 2)
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], keep) end
return {1, s, reserved}
"""
)

#: KEYS: as BUDGET_RESERVE. ARGV: now, bucket, buckets, reservation, actual, spent_ttl,
#: lease_ttl
#: -> {spent, reserved}
BUDGET_SETTLE = (
    _BUDGET_COMMON
    + """
local now = tonumber(ARGV[1])
if redis.call('ZSCORE', KEYS[5], ARGV[4]) then  -- a retried call: already settled
  local reserved = sweep(now)
  return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
end
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]), ARGV[4])
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
local reserved = sweep(now)
return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
"""
)

#: KEYS: as BUDGET_RESERVE. ARGV: now, bucket, buckets -> {spent, reserved}
BUDGET_STATE = (
    _BUDGET_COMMON
    + """
local now = tonumber(ARGV[1])
local reserved = sweep(now)
return {spent(tonumber(ARGV[2]), tonumber(ARGV[3])), reserved}
"""
)

#: Extend leases this replica still holds. KEYS: zset, then keys whose TTL follows it.
#: ARGV: expiry, key_ttl, lease ids... (XX: a lease already swept is not brought back)
REFRESH = """
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
end
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2])) end
return 1
"""
