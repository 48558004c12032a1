-- Dense float matrix multiply. Same algorithm as ../programs/matmul.toy.
local n = tonumber(arg[1]) or 600
local a, b, c = {}, {}, {}
for i = 0, n * n - 1 do a[i], b[i], c[i] = 0.0, 0.0, 0.0 end
for i = 0, n - 1 do
  for j = 0, n - 1 do
    a[i * n + j] = ((i + 2 * j) % 7) - 3.0
    b[i * n + j] = ((3 * i + j) % 5) * 0.5
  end
end
for i = 0, n - 1 do
  for k = 0, n - 1 do
    local aik = a[i * n + k]
    for j = 0, n - 1 do c[i * n + j] = c[i * n + j] + aik * b[k * n + j] end
  end
end
local sum = 0.0
for i = 0, n * n - 1 do sum = sum + c[i] * (i % 13) end
print(string.format("%d", sum >= 0 and math.floor(sum) or math.ceil(sum)))
