-- Bounce (Are We Fast Yet). Same algorithm as ../programs/bounce.toy.
local seed = 0

local function next_random()
  seed = (seed * 1309 + 13849) % 65536  -- (& 65535 of a nonnegative seed: LuaJIT has no &)
  return seed
end

local function bounce(x, y, x_vel, y_vel, i)
  local x_limit, y_limit = 500, 500
  local bounced = false
  x[i] = x[i] + x_vel[i]
  y[i] = y[i] + y_vel[i]
  if x[i] > x_limit then x[i] = x_limit; x_vel[i] = 0 - math.abs(x_vel[i]); bounced = true end
  if x[i] < 0 then x[i] = 0; x_vel[i] = math.abs(x_vel[i]); bounced = true end
  if y[i] > y_limit then y[i] = y_limit; y_vel[i] = 0 - math.abs(y_vel[i]); bounced = true end
  if y[i] < 0 then y[i] = 0; y_vel[i] = math.abs(y_vel[i]); bounced = true end
  return bounced
end

local function benchmark()
  seed = 74755
  local x, y, x_vel, y_vel = {}, {}, {}, {}
  local bounces = 0
  for i = 0, 99 do
    x[i] = next_random() % 500
    y[i] = next_random() % 500
    x_vel[i] = next_random() % 300 - 150
    y_vel[i] = next_random() % 300 - 150
  end
  for step = 1, 50 do
    for i = 0, 99 do
      if bounce(x, y, x_vel, y_vel, i) then bounces = bounces + 1 end
    end
  end
  return bounces
end

local n = tonumber(arg[1]) or 40
local total = 0
for k = 1, n do
  local result = benchmark()
  if result ~= 1331 then total = -1 break end  -- the published result
  total = total + result
end
print(total)
