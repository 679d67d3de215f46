-- GCRA: takes one token from a user's bucket, shared by every node; returns 1 if allowed.
-- KEYS[1]: the time (µs, Redis's clock) up to which the bucket is drained.
-- ARGV: emission interval µs (1 s / per_second), burst.
-- The key expires when the bucket would be full again, so idle users cost nothing.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local drained_until = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained_until < now then
  drained_until = now
end
local next_until = drained_until + interval
if next_until - now > interval * burst then
  return 0
end
local ttl_ms = math.ceil((next_until - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', next_until), 'PX', string.format('%d', ttl_ms))
return 1
