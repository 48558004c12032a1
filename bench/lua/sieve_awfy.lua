-- Sieve (Are We Fast Yet). Same algorithm as ../programs/sieve_awfy.toy.
local function sieve(flags, size)
  local prime_count = 0
  for i = 2, size do
    if flags[i - 1] then
      prime_count = prime_count + 1
      local k = i + i
      while k <= size do
        flags[k - 1] = false
        k = k + i
      end
    end
  end
  return prime_count
end

local function benchmark()
  local flags = {}
  for i = 0, 4999 do flags[i] = true end
  return sieve(flags, 5000)
end

local n = tonumber(arg[1]) or 300
local total = 0
for k = 1, n do
  local result = benchmark()
  if result ~= 669 then total = -1 break end  -- the published result
  total = total + result
end
print(total)
