"""The outbox's Lua scripts for the Redis store, and how their replies are read.

Every outbox key shares the hash tag ``{outbox}`` (one Redis Cluster slot), so each script is atomic and
cluster-safe. ``T`` is ``PREFIX:{outbox}``; a lane is ``PARTNER_ID \\x1f KEY``:

- ``T:msg:ID``: hash of one message: ``m`` (its JSON as added), ``lane``, ``partner``, ``seq``, ``state``,
  ``attempts``, ``next`` (microseconds), ``err``;
- ``T:lane:LANE``: sorted set of the lane's pending message ids, score ``seq`` (order of addition, from
  ``T:seq``); the first member is the lane's head;
- ``T:ready``: sorted set of lanes whose head waits for a worker, score the head's ``next``;
- ``T:leased``: sorted set of claimed lanes, score the lease's end; ``T:owner``: hash lane -> claim token;
- ``T:dead``: sorted set of dead message ids, score ``seq``;
- ``T:counts``: hash ``PARTNER \\x1f pending|dead`` -> count (fields at zero are deleted).

Invariant: a lane with pending messages is in exactly one of ``ready`` (not claimed) and ``leased``
(claimed); ``refresh(lane)`` restores it after any change. A claim first returns lanes whose lease ran out
to ``ready``, then takes the due lanes off ``ready``. Scores are microseconds below 2**53, exact in a double.
The scripts touch keys they build from ``T`` (all in the one slot) besides those passed in ``KEYS``.
"""

from __future__ import annotations

__all__ = (
    "ACK",
    "ADD",
    "CLAIM",
    "COUNTS",
    "DROP",
    "RELEASE",
    "RETRY",
    "WRITE",
)

_COMMON = """
local T = ARGV[1]
local ready, leased, owner, dead, counts = T .. ':ready', T .. ':leased', T .. ':owner', T .. ':dead', T .. ':counts'
local SEP = '\\31'
local function count(partner, state, delta)
  local field = partner .. SEP .. state
  if redis.call('HINCRBY', counts, field, delta) <= 0 then redis.call('HDEL', counts, field) end
end
local function refresh(lane)
  if redis.call('HEXISTS', owner, lane) == 1 then return end
  local head = redis.call('ZRANGE', T .. ':lane:' .. lane, 0, 0)
  if #head == 0 then
    redis.call('ZREM', ready, lane)
  else
    redis.call('ZADD', ready, redis.call('HGET', T .. ':msg:' .. head[1], 'next'), lane)
  end
end
local function free(lane, token)
  if redis.call('HGET', owner, lane) == token then
    redis.call('ZREM', leased, lane)
    redis.call('HDEL', owner, lane)
  end
  refresh(lane)
end
"""

_ADD_FUNCTION = """
-- Adds the messages in ARGV[first..]: groups of id, lane, partner, state, attempts, next, err ('' for none),
-- JSON; skips ids already there. Returns how many were added.
local function add_messages(first)
  local added = 0
  for i = first, #ARGV, 8 do
    local id, lane, partner, state = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local key = T .. ':msg:' .. id
    if redis.call('EXISTS', key) == 0 then
      local seq = redis.call('INCR', T .. ':seq')
      redis.call('HSET', key, 'm', ARGV[i + 7], 'lane', lane, 'partner', partner, 'seq', seq, 'state', state,
        'attempts', ARGV[i + 4], 'next', ARGV[i + 5], 'err', ARGV[i + 6])
      if state == 'dead' then
        redis.call('ZADD', dead, seq, id)
      else
        redis.call('ZADD', T .. ':lane:' .. lane, seq, id)
        refresh(lane)
      end
      count(partner, state, 1)
      added = added + 1
    end
  end
  return added
end
"""

ADD = _COMMON + _ADD_FUNCTION + "return add_messages(2)\n"

WRITE = (
    "#!lua\n"
    + _COMMON
    + _ADD_FUNCTION
    + """
-- Store.write in one script: compare-and-set checks, puts and removes with their index entries, the
-- change-log entry, then the outbox messages. Flagged (the shebang): refused whole at maxmemory.
-- ARGV[1] T; ARGV[2] expects; ARGV[3] ops; ARGV[4] 1 with a change-log entry; then per expect: object key,
-- 1 when the object must exist, its JSON; per op: 'P', object key, owner index, global index, value, score,
-- id, member (a put) or 'R', object key, owner index, global index, id, member (a remove); then log key,
-- max length, field, payload when ARGV[4] is 1; then the messages (see add_messages).
-- Returns {0, expect number} when an expectation failed (nothing written), else {1, flag per op}.
local at = 5
for n = 1, tonumber(ARGV[2]) do
  local value = redis.call('GET', ARGV[at])
  local present = ARGV[at + 1] == '1'
  if (value ~= false) ~= present or (present and string.sub(value, 9) ~= ARGV[at + 2]) then
    return {0, n}
  end
  at = at + 3
end
local flags = {1}
for n = 1, tonumber(ARGV[3]) do
  if ARGV[at] == 'P' then
    redis.call('SET', ARGV[at + 1], ARGV[at + 4])
    flags[#flags + 1] = redis.call('ZADD', ARGV[at + 2], ARGV[at + 5], ARGV[at + 6])
    redis.call('ZADD', ARGV[at + 3], ARGV[at + 5], ARGV[at + 7])
    at = at + 8
  else
    flags[#flags + 1] = redis.call('DEL', ARGV[at + 1])
    redis.call('ZREM', ARGV[at + 2], ARGV[at + 4])
    redis.call('ZREM', ARGV[at + 3], ARGV[at + 5])
    at = at + 6
  end
end
if ARGV[4] == '1' then
  redis.call('XADD', ARGV[at], 'MAXLEN', '~', ARGV[at + 1], '*', ARGV[at + 2], ARGV[at + 3])
  at = at + 4
end
add_messages(at)
return flags
"""
)

CLAIM = (
    _COMMON
    + """
-- ARGV: T, now, lease end, limit, token. Returns {id, m, state, attempts, next, err} per claimed message.
local now, lease_end, limit, token = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', leased, '-inf', now)) do
  redis.call('ZREM', leased, lane)
  redis.call('HDEL', owner, lane)
  refresh(lane)
end
local claimed = {}
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', ready, lane)
  local head = redis.call('ZRANGE', T .. ':lane:' .. lane, 0, 0)
  if #head > 0 then
    local key = T .. ':msg:' .. head[1]
    redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('ZADD', leased, lease_end, lane)
    redis.call('HSET', owner, lane, token)
    local fields = redis.call('HMGET', key, 'm', 'state', 'attempts', 'next', 'err')
    table.insert(claimed, {head[1], fields[1], fields[2], fields[3], fields[4], fields[5]})
  end
end
return claimed
"""
)

ACK = (
    _COMMON
    + """
-- ARGV: T, id, lane, token. Returns 1 when the message was still there.
local key = T .. ':msg:' .. ARGV[2]
local existed = 0
if redis.call('EXISTS', key) == 1 then
  local fields = redis.call('HMGET', key, 'partner', 'state')
  redis.call('DEL', key)
  redis.call('ZREM', T .. ':lane:' .. ARGV[3], ARGV[2])
  redis.call('ZREM', dead, ARGV[2])
  count(fields[1], fields[2], -1)
  existed = 1
end
free(ARGV[3], ARGV[4])
return existed
"""
)

RELEASE = (
    _COMMON
    + """
-- ARGV: T, id, lane, token, dead ('1' or '0'), next, err. Returns 1 when the claim was still the token's.
local id, lane, token = ARGV[2], ARGV[3], ARGV[4]
local key = T .. ':msg:' .. id
if redis.call('HGET', owner, lane) ~= token then return 0 end
local released = 0
if redis.call('EXISTS', key) == 1 then
  redis.call('HSET', key, 'next', ARGV[6], 'err', ARGV[7])
  if ARGV[5] == '1' then
    local fields = redis.call('HMGET', key, 'partner', 'seq')
    redis.call('HSET', key, 'state', 'dead')
    redis.call('ZREM', T .. ':lane:' .. lane, id)
    redis.call('ZADD', dead, fields[2], id)
    count(fields[1], 'pending', -1)
    count(fields[1], 'dead', 1)
  end
  released = 1
end
free(lane, token)
return released
"""
)

_SELECT = """
-- ARGV: T, partner ('' for any), now (retry only), ids... (none: every dead message)
local partner_filter = ARGV[2]
local ids = {}
if #ARGV > 3 then
  for i = 4, #ARGV do table.insert(ids, ARGV[i]) end
else
  ids = redis.call('ZRANGE', dead, 0, -1)
end
local changed = 0
"""

RETRY = (
    _COMMON
    + _SELECT
    + """
for _, id in ipairs(ids) do
  local key = T .. ':msg:' .. id
  local fields = redis.call('HMGET', key, 'partner', 'state', 'lane', 'seq')
  if fields[1] and (partner_filter == '' or fields[1] == partner_filter) then
    if fields[2] == 'dead' then
      redis.call('ZREM', dead, id)
      redis.call('ZADD', T .. ':lane:' .. fields[3], fields[4], id)
      count(fields[1], 'dead', -1)
      count(fields[1], 'pending', 1)
    end
    redis.call('HSET', key, 'state', 'pending', 'attempts', 0, 'next', ARGV[3])
    refresh(fields[3])
    changed = changed + 1
  end
end
return changed
"""
)

DROP = (
    _COMMON
    + _SELECT
    + """
for _, id in ipairs(ids) do
  local key = T .. ':msg:' .. id
  local fields = redis.call('HMGET', key, 'partner', 'state', 'lane')
  if fields[1] and (partner_filter == '' or fields[1] == partner_filter) then
    redis.call('DEL', key)
    redis.call('ZREM', dead, id)
    redis.call('ZREM', T .. ':lane:' .. fields[3], id)
    count(fields[1], fields[2], -1)
    refresh(fields[3])
    changed = changed + 1
  end
end
return changed
"""
)

COUNTS = """
-- ARGV: T, now. Returns {counts as a flat HGETALL, leased lanes whose lease runs past now}.
local T = ARGV[1]
return {redis.call('HGETALL', T .. ':counts'), redis.call('ZRANGEBYSCORE', T .. ':leased', '(' .. ARGV[2], '+inf')}
"""
