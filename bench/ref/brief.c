/* A short run. Same algorithm as programs/brief.toy. */
#include <stdio.h>
#include <stdlib.h>

static long digits(long x) {
    long count = 0;
    while (x > 0) { x = x / 10; count++; }
    return count;
}

static long gcd(long a, long b) {
    while (b != 0) { long t = a % b; a = b; b = t; }
    return a;
}

static long triangle(long n) {
    long t = 0;
    for (long i = 0; i < n; i++) t += i;
    return t;
}

long bench(long n) {
    long total = 0;
    for (long i = 1; i < n; i++) total += digits(i * 7919) + gcd(i, 360) + triangle(i % 10);
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 1200));
    return 0;
}
