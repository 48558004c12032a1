-- Start-up: a program that does nothing to speak of. Same as ../programs/startup.toy.
local n = tonumber(arg[1]) or 1
print(n)
