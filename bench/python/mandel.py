"""The Mandelbrot set. Same algorithm as ../programs/mandel.toy."""


def escape(cr, ci, limit):
    zr = 0.0
    zi = 0.0
    for i in range(limit):
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            return i
        zi = 2.0 * zr * zi + ci
        zr = zr2 - zi2 + cr
    return limit


def bench(n):
    total = 0
    for y in range(n):
        ci = 2.0 * float(y) / float(n) - 1.0
        for x in range(n):
            cr = 3.0 * float(x) / float(n) - 2.0
            total = total + escape(cr, ci, 200)
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
