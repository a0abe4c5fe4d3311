-- Append tracklets to the durable log in one call: one argument a field, not one command a tracklet (a
-- pipelined XADD of a 13 KB message cost the gallery's interpreter 26 us, half of it a send of its own).
-- Atomic, like the commit: either every tracklet is in the log or, when Redis refuses the first write
-- (maxmemory), none is.
-- KEYS[1]: the log. ARGV: tid, msg, thumb (empty: none) for each tracklet. Returns the entry ids.
local ids = {}
for i = 1, #ARGV, 3 do
  local entry
  if ARGV[i + 2] == '' then
    entry = {'XADD', KEYS[1], '*', 'tid', ARGV[i], 'msg', ARGV[i + 1]}
  else
    entry = {'XADD', KEYS[1], '*', 'tid', ARGV[i], 'msg', ARGV[i + 1], 'thumb', ARGV[i + 2]}
  end
  if i == 1 then
    local id = redis.pcall(unpack(entry))
    if type(id) == 'table' and id.err then
      return id
    end
    ids[1] = id
  else
    ids[#ids + 1] = redis.call(unpack(entry))
  end
end
return ids
