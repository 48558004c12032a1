"""Many small functions. Same algorithm as ../programs/calls.toy."""


def square(x):
    return x * x


def add(a, b):
    return a + b


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def is_even(x):
    return x % 2 == 0


def step(i):
    if is_even(i):
        return add(i, 1)
    return clamp(i * 3, 0, 100000)


def mix(a, b):
    return add(square(a % 1000), b) % 1000003


def bench(n):
    total = 0
    for i in range(n):
        total = mix(total, step(i))
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
