/* Sieve (Are We Fast Yet). Same algorithm as programs/sieve_awfy.toy. */
#include <stdio.h>
#include <stdlib.h>

static long sieve(char *flags, long size) {
    long prime_count = 0;
    for (long i = 2; i <= size; i++) {
        if (flags[i - 1]) {
            prime_count++;
            for (long k = i + i; k <= size; k += i) flags[k - 1] = 0;
        }
    }
    return prime_count;
}

static long benchmark(void) {
    char *flags = malloc(5000);
    for (int i = 0; i < 5000; i++) flags[i] = 1;
    long result = sieve(flags, 5000);
    free(flags);
    return result;
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++) {
        long result = benchmark();
        if (result != 669) return -1;  /* the published result */
        total += result;
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 300));
    return 0;
}
