-- wrk script: findOne by _id over the documents seeded by scripts/bench-data-api
-- ("p-1" .. "p-N", N = BENCH_SEED). The key comes from DATA_API_KEY.
local seeded = tonumber(os.getenv("BENCH_SEED") or "1000")
local body = '{"dataSource":"bench","database":"bench","collection":"patients",'
  .. '"filter":{"_id":"p-%d"}}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["apiKey"] = os.getenv("DATA_API_KEY")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() + (seed or 0))
end

function request()
  return wrk.format(nil, nil, nil, string.format(body, math.random(1, seeded)))
end
