-- Forgets one socket and returns the user's live socket count; at 0 the user leaves the
-- expiry index, so a clean disconnect is never reported as expired.
-- KEYS[1]: the user's sockets; KEYS[2]: the shard's expiry index. ARGV: conn, user.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREM', KEYS[1], ARGV[1])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  redis.call('PEXPIREAT', KEYS[1], last)
  redis.call('ZADD', KEYS[2], last, ARGV[2])
end
return left
