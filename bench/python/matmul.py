"""Dense float matrix multiply. Same algorithm as ../programs/matmul.toy."""


def bench(n):
    a = [0.0] * (n * n)
    b = [0.0] * (n * n)
    c = [0.0] * (n * n)
    for i in range(n):
        for j in range(n):
            a[i * n + j] = float((i + 2 * j) % 7) - 3.0
            b[i * n + j] = float((3 * i + j) % 5) * 0.5
    for i in range(n):
        for k in range(n):
            aik = a[i * n + k]
            for j in range(n):
                c[i * n + j] = c[i * n + j] + aik * b[k * n + j]
    total = 0.0
    for i in range(n * n):
        total = total + c[i] * float(i % 13)
    return int(total)


if __name__ == "__main__":
    from bench.python import main
    main(globals())
