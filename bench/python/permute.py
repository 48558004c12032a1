"""Permute (Are We Fast Yet). Same algorithm as ../programs/permute.toy."""

# numba 0.68: a recursive function that takes a list (or an array), loaded
# from numba's cache, crashes the process (a segmentation fault on the second
# run); so numba compiles these anew each run, its compile time included.
NUMBA_CACHE = False


def swap(v, i, j):
    tmp = v[i]
    v[i] = v[j]
    v[j] = tmp


def permute(state, v, n):
    state[0] = state[0] + 1
    if n != 0:
        n1 = n - 1
        permute(state, v, n1)
        i = n1
        while i >= 0:
            swap(v, n1, i)
            permute(state, v, n1)
            swap(v, n1, i)
            i = i - 1


def benchmark():
    state = [0]
    v = [0] * 6
    permute(state, v, 6)
    return state[0]


def bench(n):
    total = 0
    for _ in range(n):
        result = benchmark()
        if result != 8660:  # the published result
            return -1
        total = total + result
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
