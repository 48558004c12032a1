/* Collatz sequences. Same algorithm as programs/collatz.toy. */
#include <stdio.h>
#include <stdlib.h>

static long steps(long n) {
    long count = 0;
    while (n != 1) {
        if (n % 2 == 0) n = n / 2; else n = 3 * n + 1;
        count++;
    }
    return count;
}

long bench(long n) {
    long best = 0, best_steps = 0;
    for (long i = 1; i < n; i++) {
        long s = steps(i);
        if (s > best_steps) { best = i; best_steps = s; }
    }
    return best * 1000 + best_steps;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 3000000));
    return 0;
}
