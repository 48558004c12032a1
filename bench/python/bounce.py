"""Bounce (Are We Fast Yet). Same algorithm as ../programs/bounce.toy."""


def next_random(seed):
    seed[0] = (seed[0] * 1309 + 13849) & 65535
    return seed[0]


def bounce(x, y, x_vel, y_vel, i):
    x_limit = 500
    y_limit = 500
    bounced = False
    x[i] = x[i] + x_vel[i]
    y[i] = y[i] + y_vel[i]
    if x[i] > x_limit:
        x[i] = x_limit
        x_vel[i] = 0 - abs(x_vel[i])
        bounced = True
    if x[i] < 0:
        x[i] = 0
        x_vel[i] = abs(x_vel[i])
        bounced = True
    if y[i] > y_limit:
        y[i] = y_limit
        y_vel[i] = 0 - abs(y_vel[i])
        bounced = True
    if y[i] < 0:
        y[i] = 0
        y_vel[i] = abs(y_vel[i])
        bounced = True
    return bounced


def benchmark():
    seed = [74755]
    ball_count = 100
    bounces = 0
    x = [0] * ball_count
    y = [0] * ball_count
    x_vel = [0] * ball_count
    y_vel = [0] * ball_count
    for i in range(ball_count):
        x[i] = next_random(seed) % 500
        y[i] = next_random(seed) % 500
        x_vel[i] = next_random(seed) % 300 - 150
        y_vel[i] = next_random(seed) % 300 - 150
    for _ in range(50):
        for i in range(ball_count):
            if bounce(x, y, x_vel, y_vel, i):
                bounces = bounces + 1
    return bounces


def bench(n):
    total = 0
    for _ in range(n):
        result = benchmark()
        if result != 1331:  # the published result
            return -1
        total = total + result
    return total


if __name__ == "__main__":
    from bench.python import main
    main(globals())
