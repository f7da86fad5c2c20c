-- POST /api/v1/appointments on distinct free slots: each line of BENCH_BOOKINGS is
-- "<token> <slot id>"; thread i takes lines i, i+n, i+2n... so no two requests share a slot.
dofile(os.getenv("BENCH_LUA_DIR") .. "/get.lua")

local lines = {}
for line in io.lines(os.getenv("BENCH_BOOKINGS")) do
  table.insert(lines, line)
end

local thread_count = 0
local base_setup = setup
function setup(thread)
  thread:set("offset", thread_count)
  thread_count = thread_count + 1
  base_setup(thread)
end

local base_init = init
function init(args)
  base_init(args)
  step = tonumber(os.getenv("BENCH_THREADS"))
  index = offset + 1
end

function request()
  local line = lines[index]
  if line == nil then
    line = lines[#lines]  -- ran out: repeats give 409s, counted separately
  end
  index = index + step
  local token, slot = line:match("(%S+) (%S+)")
  return wrk.format("POST", "/api/v1/appointments", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"slot_id": "' .. slot .. '"}')
end
