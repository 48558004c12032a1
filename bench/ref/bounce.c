/* Bounce (Are We Fast Yet). Same algorithm as programs/bounce.toy. */
#include <stdio.h>
#include <stdlib.h>

static long seed;

static long next_random(void) {
    seed = (seed * 1309 + 13849) & 65535;
    return seed;
}

static int bounce(long *x, long *y, long *x_vel, long *y_vel, long i) {
    long x_limit = 500, y_limit = 500;
    int bounced = 0;
    x[i] += x_vel[i];
    y[i] += y_vel[i];
    if (x[i] > x_limit) { x[i] = x_limit; x_vel[i] = 0 - labs(x_vel[i]); bounced = 1; }
    if (x[i] < 0) { x[i] = 0; x_vel[i] = labs(x_vel[i]); bounced = 1; }
    if (y[i] > y_limit) { y[i] = y_limit; y_vel[i] = 0 - labs(y_vel[i]); bounced = 1; }
    if (y[i] < 0) { y[i] = 0; y_vel[i] = labs(y_vel[i]); bounced = 1; }
    return bounced;
}

static long benchmark(void) {
    long x[100], y[100], x_vel[100], y_vel[100];
    long bounces = 0;
    seed = 74755;
    for (long i = 0; i < 100; i++) {
        x[i] = next_random() % 500;
        y[i] = next_random() % 500;
        x_vel[i] = next_random() % 300 - 150;
        y_vel[i] = next_random() % 300 - 150;
    }
    for (int step = 0; step < 50; step++)
        for (long i = 0; i < 100; i++)
            if (bounce(x, y, x_vel, y_vel, i)) bounces++;
    return bounces;
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++) {
        long result = benchmark();
        if (result != 1331) return -1;  /* the published result */
        total += result;
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 40));
    return 0;
}
