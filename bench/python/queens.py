"""Queens (Are We Fast Yet). Same algorithm as ../programs/queens.toy."""

# numba 0.68: a recursive function that takes a list (or an array), loaded
# from numba's cache, crashes the process (a segmentation fault on the second
# run); so numba compiles these anew each run, its compile time included.
NUMBA_CACHE = False


def get_row_column(free_rows, free_maxs, free_mins, r, c):
    return free_rows[r] and free_maxs[c + r] and free_mins[c - r + 7]


def set_row_column(free_rows, free_maxs, free_mins, r, c, v):
    free_rows[r] = v
    free_maxs[c + r] = v
    free_mins[c - r + 7] = v


def place_queen(free_rows, free_maxs, free_mins, queen_rows, c):
    for r in range(8):
        if get_row_column(free_rows, free_maxs, free_mins, r, c):
            queen_rows[r] = c
            set_row_column(free_rows, free_maxs, free_mins, r, c, False)
            if c == 7:
                return True
            if place_queen(free_rows, free_maxs, free_mins, queen_rows, c + 1):
                return True
            set_row_column(free_rows, free_maxs, free_mins, r, c, True)
    return False


def queens():
    free_rows = [True] * 8
    free_maxs = [True] * 16
    free_mins = [True] * 16
    queen_rows = [-1] * 8
    return place_queen(free_rows, free_maxs, free_mins, queen_rows, 0)


def benchmark():
    result = True
    for _ in range(10):
        result = result and queens()
    return result


def bench(n):
    total = 0
    for _ in range(n):
        if benchmark():  # the published result: true
            total = total + 1
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
