-- Towers (Are We Fast Yet). Same algorithm as ../programs/towers.toy: each
-- pile a stack in an array.
local piles, heights, moves = {}, {}, 0

local function push_disk(size, pile)
  local h = heights[pile]
  if h > 0 and size >= piles[16 * pile + h - 1] then
    print("Cannot put a big disk on a smaller one")
    return false
  end
  piles[16 * pile + h] = size
  heights[pile] = h + 1
  return true
end

local function pop_disk_from(pile)
  local h = heights[pile]
  if h == 0 then
    print("Attempting to remove a disk from an empty pile")
    return -1
  end
  heights[pile] = h - 1
  return piles[16 * pile + h - 1]
end

local function move_top_disk(from_pile, to_pile)
  push_disk(pop_disk_from(from_pile), to_pile)
  moves = moves + 1
end

local function build_tower_at(pile, disks)
  for i = disks, 0, -1 do push_disk(i, pile) end
end

local function move_discs(disks, from_pile, to_pile)
  if disks == 1 then
    move_top_disk(from_pile, to_pile)
  else
    local other_pile = (3 - from_pile) - to_pile
    move_discs(disks - 1, from_pile, other_pile)
    move_top_disk(from_pile, to_pile)
    move_discs(disks - 1, other_pile, to_pile)
  end
end

local function benchmark()
  for i = 0, 47 do piles[i] = 0 end
  for i = 0, 2 do heights[i] = 0 end
  build_tower_at(0, 13)
  moves = 0
  move_discs(13, 0, 1)
  return moves
end

local n = tonumber(arg[1]) or 60
local total = 0
for k = 1, n do
  local result = benchmark()
  if result ~= 8191 then total = -1 break end  -- the published result
  total = total + result
end
print(total)
