"""Recursive Fibonacci. Same algorithm as ../programs/fib.toy."""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def bench(n):
    return fib(n)


if __name__ == "__main__":
    from bench.python import main
    main(globals())
