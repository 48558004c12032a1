"""Sieve (Are We Fast Yet). Same algorithm as ../programs/sieve_awfy.toy."""


def sieve(flags, size):
    prime_count = 0
    i = 2
    while i <= size:
        if flags[i - 1]:
            prime_count = prime_count + 1
            k = i + i
            while k <= size:
                flags[k - 1] = False
                k = k + i
        i = i + 1
    return prime_count


def benchmark():
    flags = [True] * 5000
    return sieve(flags, 5000)


def bench(n):
    total = 0
    for _ in range(n):
        result = benchmark()
        if result != 669:  # the published result
            return -1
        total = total + result
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
