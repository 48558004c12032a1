-- The Mandelbrot set. Same algorithm as ../programs/mandel.toy.
local function escape(cr, ci, limit)
  local zr, zi = 0.0, 0.0
  for i = 0, limit - 1 do
    local zr2, zi2 = zr * zr, zi * zi
    if zr2 + zi2 > 4.0 then return i end
    zi = 2.0 * zr * zi + ci
    zr = zr2 - zi2 + cr
  end
  return limit
end
local n = tonumber(arg[1]) or 1200
local total = 0
for y = 0, n - 1 do
  local ci = 2.0 * y / n - 1.0
  for x = 0, n - 1 do
    local cr = 3.0 * x / n - 2.0
    total = total + escape(cr, ci, 200)
  end
end
print(total)
