-- The n-body simulation. Same algorithm as ../programs/nbody.toy.
local sqrt = math.sqrt
local function energy(x, y, z, vx, vy, vz, m)
  local e = 0.0
  for i = 1, 5 do
    e = e + 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i])
    for j = i + 1, 5 do
      local dx, dy, dz = x[i] - x[j], y[i] - y[j], z[i] - z[j]
      e = e - m[i] * m[j] / sqrt(dx * dx + dy * dy + dz * dz)
    end
  end
  return e
end
local function advance(x, y, z, vx, vy, vz, m, dt)
  for i = 1, 5 do
    for j = i + 1, 5 do
      local dx, dy, dz = x[i] - x[j], y[i] - y[j], z[i] - z[j]
      local d2 = dx * dx + dy * dy + dz * dz
      local mag = dt / (d2 * sqrt(d2))
      vx[i] = vx[i] - dx * m[j] * mag
      vy[i] = vy[i] - dy * m[j] * mag
      vz[i] = vz[i] - dz * m[j] * mag
      vx[j] = vx[j] + dx * m[i] * mag
      vy[j] = vy[j] + dy * m[i] * mag
      vz[j] = vz[j] + dz * m[i] * mag
    end
  end
  for i = 1, 5 do
    x[i] = x[i] + dt * vx[i]
    y[i] = y[i] + dt * vy[i]
    z[i] = z[i] + dt * vz[i]
  end
end
local pi = 3.141592653589793
local solar, days = 4.0 * pi * pi, 365.24
local x = {0.0, 4.84143144246472090e+00, 8.34336671824457987e+00, 1.28943695621391310e+01, 1.53796971148509165e+01}
local y = {0.0, -1.16032004402742839e+00, 4.12479856412430479e+00, -1.51111514016986312e+01, -2.59193146099879641e+01}
local z = {0.0, -1.03622044471123109e-01, -4.03523417114321381e-01, -2.23307578892655734e-01, 1.79258772950371181e-01}
local vx = {0.0, 1.66007664274403694e-03 * days, -2.76742510726862411e-03 * days, 2.96460137564761618e-03 * days, 2.68067772490389322e-03 * days}
local vy = {0.0, 7.69901118419740425e-03 * days, 4.99852801234917238e-03 * days, 2.37847173959480950e-03 * days, 1.62824170038242295e-03 * days}
local vz = {0.0, -6.90460016972063023e-05 * days, 2.30417297573763929e-05 * days, -2.96589568540237556e-05 * days, -9.51592254519715870e-05 * days}
local m = {solar, 9.54791938424326609e-04 * solar, 2.85885980666130812e-04 * solar, 4.36624404335156298e-05 * solar, 5.15138902046611451e-05 * solar}
local px, py, pz = 0.0, 0.0, 0.0
for i = 1, 5 do
  px = px + vx[i] * m[i]
  py = py + vy[i] * m[i]
  pz = pz + vz[i] * m[i]
end
vx[1], vy[1], vz[1] = -px / solar, -py / solar, -pz / solar
local n = tonumber(arg[1]) or 5000000
local before = energy(x, y, z, vx, vy, vz, m)
for _ = 1, n do advance(x, y, z, vx, vy, vz, m, 0.01) end
local after = energy(x, y, z, vx, vy, vz, m)
-- 64-bit integers: Lua 5.4's own, or LuaJIT's through its FFI.
local trunc
if math.tointeger then
  trunc = function(v) return math.tointeger(v >= 0 and math.floor(v) or math.ceil(v)) end
else
  local ffi = require("ffi")
  trunc = function(v) return ffi.new("int64_t", v) end  -- truncates, like a C cast
end
local result = trunc(before * 1000000000.0) * 1000000000 + trunc(after * 1000000000.0)
print((tostring(result):gsub("LL$", "")))
