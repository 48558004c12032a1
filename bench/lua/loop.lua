-- An integer loop. Same algorithm as ../programs/loop.toy.
local n = tonumber(arg[1]) or 200000000
local total = 0
for i = 0, n - 1 do
  local x = i * 7 + 3
  if x % 5 == 0 then total = total + x else total = total ~ (x >> 1) end
end
print(total)
