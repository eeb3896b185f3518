-- real.lua N - the real-program benchmark's workload (tests/bench/real.sh):
-- N pcalls, each a little of everything the interpreter does in C
-- (calls, string formatting, tables, sorting, concatenation, GC).
local n = tonumber(arg[1]) or 1000

local function fib(x)
	if x < 2 then return x end
	return fib(x - 1) + fib(x - 2)
end

local function work(i)
	local t = {}
	for j = 1, 100 do
		t[j] = string.format("%05d:%d", (j * 7919 + i) % 100000, j)
	end
	table.sort(t)
	local s = table.concat(t, ",")
	local words = 0
	for _ in s:gmatch("[^,]+") do words = words + 1 end
	return fib(12) + words + #s
end

local sum = 0
for i = 1, n do
	local ok, v = pcall(work, i)
	sum = sum + (ok and v or 0)
end
print(sum)
