"""Collatz sequences. Same algorithm as ../programs/collatz.toy."""


def steps(n):
    count = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        count = count + 1
    return count


def bench(n):
    best = 0
    best_steps = 0
    for i in range(1, n):
        s = steps(i)
        if s > best_steps:
            best = i
            best_steps = s
    return best * 1000 + best_steps


if __name__ == "__main__":
    from bench.python import main
    main(globals())
