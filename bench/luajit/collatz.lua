-- Collatz sequences, for LuaJIT (no `//`: halving an even double is exact).
local function steps(n)
  local count = 0
  while n ~= 1 do
    if n % 2 == 0 then n = n / 2 else n = 3 * n + 1 end
    count = count + 1
  end
  return count
end
local n = tonumber(arg[1]) or 3000000
local best, best_steps = 0, 0
for i = 1, n - 1 do
  local s = steps(i)
  if s > best_steps then best, best_steps = i, s end
end
print(string.format("%d", best * 1000 + best_steps))
