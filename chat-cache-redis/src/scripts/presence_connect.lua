-- Records or refreshes one socket and returns the user's live socket count.
-- KEYS[1]: the user's sockets (conn -> expiry ms); KEYS[2]: the shard's expiry index
-- (user -> expiry of their longest-lived socket). ARGV: conn, ttl ms, user.
-- Times come from Redis's clock so the nodes' clocks do not matter. The index outlives the
-- shard's last connect or heartbeat by an hour, long enough for a live node to claim its
-- expired users, and then goes away with the deployment (or test) that wrote it.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
redis.call('PEXPIREAT', KEYS[1], last)
redis.call('ZADD', KEYS[2], last, ARGV[3])
redis.call('PEXPIREAT', KEYS[2], string.format('%d', tonumber(last) + 3600000))
return redis.call('ZCARD', KEYS[1])
