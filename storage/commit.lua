-- The gallery's commit: every write of a resolved batch and the XACK of its log entries, atomically (a script
-- runs whole, as MULTI/EXEC would). The writes arrive as one msgpack document, so the client packs one
-- argument rather than ~40 a tracklet: the commit's client CPU fell from 120 to about 40 us a tracklet.
--
-- KEYS: log, events, identity index, then one marker key per resolved tracklet, one hash key per identity,
--       one sightings key per identity (in the order of the document's lists)
-- ARGV[1]: msgpack [ttl, group, markers, events, hashes, sightings, touched, acks]
--   markers: the marker value of each resolved tracklet; events: {iid, tid, msg} each;
--   hashes: {field, value, ...} of each identity; sightings: {score, member, ...} of each identity;
--   touched: {score, iid, ...} for the identity index; acks: log entry ids.
-- Every value arrives as a string: a Lua number would reach Redis with 14 significant digits.
local doc = cmsgpack.unpack(ARGV[1])
local ttl, group, markers, events, hashes, sightings, touched, acks =
  doc[1], doc[2], doc[3], doc[4], doc[5], doc[6], doc[7], doc[8]
local n = #markers
if n > 0 then
  -- The first write may be refused (maxmemory, noeviction): Redis refuses only a script's first write, so
  -- nothing is written then, and the refusal goes back to the gallery as the OOM error it is.
  local first = redis.pcall('SET', KEYS[4], markers[1], 'EX', ttl)
  if type(first) == 'table' and first.err then
    return first
  end
end
for i = 2, n do
  redis.call('SET', KEYS[3 + i], markers[i], 'EX', ttl)
end
for _, e in ipairs(events) do
  redis.call('XADD', KEYS[2], '*', 'iid', e[1], 'tid', e[2], 'msg', e[3])
end
local base = 3 + n
for i, fields in ipairs(hashes) do
  redis.call('HSET', KEYS[base + i], unpack(fields))
end
base = base + #hashes
for i, members in ipairs(sightings) do
  redis.call('ZADD', KEYS[base + i], unpack(members))
end
for i = 1, #touched, 500 do
  redis.call('ZADD', KEYS[3], unpack(touched, i, math.min(i + 499, #touched)))
end
for i = 1, #acks, 500 do
  redis.call('XACK', KEYS[1], group, unpack(acks, i, math.min(i + 499, #acks)))
end
return #events
