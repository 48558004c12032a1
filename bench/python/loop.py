"""An integer loop. Same algorithm as ../programs/loop.toy."""


def bench(n):
    total = 0
    for i in range(n):
        x = i * 7 + 3
        if x % 5 == 0:
            total = total + x
        else:
            total = total ^ (x >> 1)
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
