-- GCRA: takes one token from a bucket shared by every node (a user's send quota, or an
-- attempt limit on logins, registrations or uploads). Returns 0 if allowed, else the µs
-- until a token is free again (at least 1 ms).
-- KEYS[1]: the time (µs, Redis's clock) up to which the bucket is drained; it expires when
-- the bucket would be full again, so idle buckets cost nothing.
-- ARGV: emission interval µs, burst.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local drained_until = tonumber(redis.call('GET', KEYS[1]) or '0')
if drained_until < now then
  drained_until = now
end
local next_until = drained_until + interval
local capacity = interval * burst
if next_until - now > capacity then
  return math.max(next_until - now - capacity, 1000)
end
local ttl_ms = math.ceil((next_until - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', next_until), 'PX', string.format('%d', ttl_ms))
return 0
