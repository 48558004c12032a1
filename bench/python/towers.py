"""Towers (Are We Fast Yet). Same algorithm as ../programs/towers.toy: each
pile a stack in an array."""

# numba 0.68: a recursive function that takes a list (or an array), loaded
# from numba's cache, crashes the process (a segmentation fault on the second
# run); so numba compiles these anew each run, its compile time included.
NUMBA_CACHE = False


def push_disk(piles, heights, size, pile):
    h = heights[pile]
    if h > 0 and size >= piles[16 * pile + h - 1]:
        print("Cannot put a big disk on a smaller one")
        return False
    piles[16 * pile + h] = size
    heights[pile] = h + 1
    return True


def pop_disk_from(piles, heights, pile):
    h = heights[pile]
    if h == 0:
        print("Attempting to remove a disk from an empty pile")
        return -1
    heights[pile] = h - 1
    return piles[16 * pile + h - 1]


def move_top_disk(piles, heights, moves, from_pile, to_pile):
    push_disk(piles, heights, pop_disk_from(piles, heights, from_pile), to_pile)
    moves[0] = moves[0] + 1


def build_tower_at(piles, heights, pile, disks):
    i = disks
    while i >= 0:
        push_disk(piles, heights, i, pile)
        i = i - 1


def move_discs(piles, heights, moves, disks, from_pile, to_pile):
    if disks == 1:
        move_top_disk(piles, heights, moves, from_pile, to_pile)
    else:
        other_pile = (3 - from_pile) - to_pile
        move_discs(piles, heights, moves, disks - 1, from_pile, other_pile)
        move_top_disk(piles, heights, moves, from_pile, to_pile)
        move_discs(piles, heights, moves, disks - 1, other_pile, to_pile)


def benchmark():
    piles = [0] * 48
    heights = [0] * 3
    build_tower_at(piles, heights, 0, 13)
    moves = [0]
    move_discs(piles, heights, moves, 13, 0, 1)
    return moves[0]


def bench(n):
    total = 0
    for _ in range(n):
        result = benchmark()
        if result != 8191:  # the published result
            return -1
        total = total + result
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
