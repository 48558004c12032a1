/* The Mandelbrot set. Same algorithm as programs/mandel.toy. */
#include <stdio.h>
#include <stdlib.h>

static long escape(double cr, double ci, long limit) {
    double zr = 0.0, zi = 0.0;
    for (long i = 0; i < limit; i++) {
        double zr2 = zr * zr, zi2 = zi * zi;
        if (zr2 + zi2 > 4.0) return i;
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
    }
    return limit;
}

long bench(long n) {
    long total = 0;
    for (long y = 0; y < n; y++) {
        double ci = 2.0 * (double)y / (double)n - 1.0;
        for (long x = 0; x < n; x++) {
            double cr = 3.0 * (double)x / (double)n - 2.0;
            total += escape(cr, ci, 200);
        }
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 1200));
    return 0;
}
