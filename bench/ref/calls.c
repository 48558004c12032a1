/* Many small functions. Same algorithm as programs/calls.toy. */
#include <stdio.h>
#include <stdlib.h>

static long square(long x) { return x * x; }
static long add(long a, long b) { return a + b; }
static long clamp(long x, long lo, long hi) { return x < lo ? lo : x > hi ? hi : x; }
static int is_even(long x) { return x % 2 == 0; }
static long step(long i) { return is_even(i) ? add(i, 1) : clamp(i * 3, 0, 100000); }
static long mix(long a, long b) { return add(square(a % 1000), b) % 1000003; }

long bench(long n) {
    long total = 0;
    for (long i = 0; i < n; i++) total = mix(total, step(i));
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 1000000));
    return 0;
}
