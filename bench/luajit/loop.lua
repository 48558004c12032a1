-- An integer loop, for LuaJIT (Lua 5.1: no integer type or operators; a
-- 64-bit cdata accumulator and the bit library instead).
local bit = require("bit")
local n = tonumber(arg[1]) or 200000000
local total = 0LL
for i = 0, n - 1 do
  local x = i * 7 + 3
  if x % 5 == 0 then total = total + x else total = bit.bxor(total, bit.rshift(x, 1)) end
end
print((tostring(total):gsub("LL$", "")))
