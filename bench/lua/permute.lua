-- Permute (Are We Fast Yet). Same algorithm as ../programs/permute.toy.
local count, v = 0, {}

local function swap(i, j)
  local tmp = v[i]
  v[i] = v[j]
  v[j] = tmp
end

local function permute(n)
  count = count + 1
  if n ~= 0 then
    local n1 = n - 1
    permute(n1)
    for i = n1, 0, -1 do
      swap(n1, i)
      permute(n1)
      swap(n1, i)
    end
  end
end

local function benchmark()
  count = 0
  for i = 0, 5 do v[i] = 0 end
  permute(6)
  return count
end

local n = tonumber(arg[1]) or 150
local total = 0
for k = 1, n do
  local result = benchmark()
  if result ~= 8660 then total = -1 break end  -- the published result
  total = total + result
end
print(total)
