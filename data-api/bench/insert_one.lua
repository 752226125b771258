-- wrk script: insertOne of a small appointment-like document without _id
-- (the gateway generates an ObjectId). The key comes from DATA_API_KEY.
local body = '{"dataSource":"bench","database":"bench","collection":"appointments",'
  .. '"document":{"doctorId":"d-%d","patientId":"p-%d","status":"booked",'
  .. '"start":{"$date":"2025-06-01T08:00:00Z"},"minutes":30}}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["apiKey"] = os.getenv("DATA_API_KEY")

function request()
  return wrk.format(nil, nil, nil, string.format(body, math.random(1, 50), math.random(1, 100000)))
end
