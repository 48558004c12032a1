"""Start-up: a program that does nothing to speak of. Same as ../programs/startup.toy."""


def bench(n):
    return n


if __name__ == "__main__":
    from bench.python import main
    main(globals())
