
local bodies = {}
local i = 0
for line in io.lines("/work/main/bodies-6077496848531874296.jsonl") do bodies[#bodies + 1] = line end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
