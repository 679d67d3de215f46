-- Claims the report that a user went offline because their sockets expired: returns 1 to
-- exactly one caller across all nodes (the one whose ZREM took the user out of the index),
-- 0 if the user is not due (already claimed, disconnected, or a socket is alive again).
-- KEYS[1]: the user's sockets; KEYS[2]: the shard's expiry index. ARGV: user.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) > now then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  redis.call('ZADD', KEYS[2], last, ARGV[1])
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
