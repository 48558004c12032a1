-- List (Are We Fast Yet). Same algorithm as ../programs/list.toy: a pool of
-- nodes in arrays.
local val, next, top = {}, {}, 0

local function make_list(length)
  if length == 0 then return -1 end
  local e = top
  top = top + 1
  val[e] = length
  next[e] = make_list(length - 1)
  return e
end

local function length(e)
  if next[e] == -1 then return 1 end
  return 1 + length(next[e])
end

local function is_shorter_than(x, y)
  local x_tail, y_tail = x, y
  while y_tail ~= -1 do
    if x_tail == -1 then return true end
    x_tail = next[x_tail]
    y_tail = next[y_tail]
  end
  return false
end

local function tail(x, y, z)
  if is_shorter_than(y, x) then
    return tail(tail(next[x], y, z), tail(next[y], z, x), tail(next[z], x, y))
  end
  return z
end

local function benchmark()
  for i = 0, 30 do val[i] = 0; next[i] = -1 end
  top = 0
  local a = make_list(15)
  local b = make_list(10)
  local c = make_list(6)
  return length(tail(a, b, c))
end

local n = tonumber(arg[1]) or 10
local total = 0
for k = 1, n do
  local result = benchmark()
  if result ~= 10 then total = -1 break end  -- the published result
  total = total + result
end
print(total)
