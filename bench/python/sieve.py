"""The sieve of Eratosthenes. Same algorithm as ../programs/sieve.toy."""


def sieve(n):
    composite = [False] * n
    count = 0
    for i in range(2, n):
        if not composite[i]:
            count = count + 1
            j = i * i
            while j < n:
                composite[j] = True
                j = j + i
    return count


def bench(n):
    total = 0
    for _ in range(10):
        total = total + sieve(n)
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
