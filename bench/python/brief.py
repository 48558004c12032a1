"""A short run. Same algorithm as ../programs/brief.toy."""


def digits(x):
    count = 0
    while x > 0:
        x = x // 10
        count = count + 1
    return count


def gcd(a, b):
    while b != 0:
        t = a % b
        a = b
        b = t
    return a


def triangle(n):
    t = 0
    for i in range(n):
        t = t + i
    return t


def bench(n):
    total = 0
    for i in range(1, n):
        total = total + digits(i * 7919) + gcd(i, 360) + triangle(i % 10)
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
