/* The sieve of Eratosthenes. Same algorithm as programs/sieve.toy. */
#include <stdio.h>
#include <stdlib.h>

static long sieve(long n) {
    char *composite = calloc(n, 1);
    long count = 0;
    for (long i = 2; i < n; i++) {
        if (!composite[i]) {
            count++;
            for (long j = i * i; j < n; j += i) composite[j] = 1;
        }
    }
    free(composite);
    return count;
}

long bench(long n) {
    long total = 0;
    for (int round = 0; round < 10; round++) total += sieve(n);
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 5000000));
    return 0;
}
