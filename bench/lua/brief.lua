-- A short run. Same algorithm as ../programs/brief.toy.
local function digits(x)
  local count = 0
  while x > 0 do
    x = x // 10
    count = count + 1
  end
  return count
end
local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end
local function triangle(n)
  local t = 0
  for i = 0, n - 1 do t = t + i end
  return t
end
local n = tonumber(arg[1]) or 1200
local total = 0
for i = 1, n - 1 do total = total + digits(i * 7919) + gcd(i, 360) + triangle(i % 10) end
print(total)
