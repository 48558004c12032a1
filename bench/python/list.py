"""List (Are We Fast Yet). Same algorithm as ../programs/list.toy: a pool of
nodes in arrays."""

# numba 0.68: a recursive function that takes a list (or an array), loaded
# from numba's cache, crashes the process (a segmentation fault on the second
# run); so numba compiles these anew each run, its compile time included.
NUMBA_CACHE = False


def make_list(val, next_, top, length):
    if length == 0:
        return -1
    e = top[0]
    top[0] = e + 1
    val[e] = length
    next_[e] = make_list(val, next_, top, length - 1)
    return e


def length_of(next_, e):
    if next_[e] == -1:
        return 1
    return 1 + length_of(next_, next_[e])


def is_shorter_than(next_, x, y):
    x_tail = x
    y_tail = y
    while y_tail != -1:
        if x_tail == -1:
            return True
        x_tail = next_[x_tail]
        y_tail = next_[y_tail]
    return False


def tail(next_, x, y, z):
    if is_shorter_than(next_, y, x):
        return tail(next_, tail(next_, next_[x], y, z), tail(next_, next_[y], z, x),
                    tail(next_, next_[z], x, y))
    return z


def benchmark():
    val = [0] * 31
    next_ = [-1] * 31
    top = [0]
    result = tail(next_, make_list(val, next_, top, 15), make_list(val, next_, top, 10),
                  make_list(val, next_, top, 6))
    return length_of(next_, result)


def bench(n):
    total = 0
    for _ in range(n):
        result = benchmark()
        if result != 10:  # the published result
            return -1
        total = total + result
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
