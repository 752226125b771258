-- wrk: GET /doctors/<random ObjectId>. Every id is new, so every request is a
-- cache miss: MGET, lock, findOne through the Data API, negative-cache fill.
math.randomseed(os.time())

request = function()
  local hex = {}
  for i = 1, 6 do
    hex[i] = string.format("%04x", math.random(0, 65535))
  end
  return wrk.format("GET", "/doctors/" .. table.concat(hex))
end
