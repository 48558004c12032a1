-- The sieve of Eratosthenes. Same algorithm as ../programs/sieve.toy.
local function sieve(n)
  local composite = {}
  for i = 0, n - 1 do composite[i] = false end
  local count = 0
  for i = 2, n - 1 do
    if not composite[i] then
      count = count + 1
      local j = i * i
      while j < n do
        composite[j] = true
        j = j + i
      end
    end
  end
  return count
end
local n = tonumber(arg[1]) or 5000000
local total = 0
for round = 1, 10 do total = total + sieve(n) end
print(total)
