-- Lists users of a shard whose last socket's expiry has passed: candidates for a claim.
-- KEYS[1]: the shard's expiry index. ARGV: the most to list.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now), 'LIMIT', 0, ARGV[1])
