-- Many small functions. Same algorithm as ../programs/calls.toy.
local function square(x) return x * x end
local function add(a, b) return a + b end
local function clamp(x, lo, hi)
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end
local function is_even(x) return x % 2 == 0 end
local function step(i)
  if is_even(i) then return add(i, 1) end
  return clamp(i * 3, 0, 100000)
end
local function mix(a, b) return add(square(a % 1000), b) % 1000003 end
local n = tonumber(arg[1]) or 1000000
local total = 0
for i = 0, n - 1 do total = mix(total, step(i)) end
print(total)
