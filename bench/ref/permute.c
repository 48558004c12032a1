/* Permute (Are We Fast Yet). Same algorithm as programs/permute.toy. */
#include <stdio.h>
#include <stdlib.h>

static long count;
static long v[6];

static void swap(long i, long j) {
    long tmp = v[i];
    v[i] = v[j];
    v[j] = tmp;
}

static void permute(long n) {
    count++;
    if (n != 0) {
        long n1 = n - 1;
        permute(n1);
        for (long i = n1; i >= 0; i--) {
            swap(n1, i);
            permute(n1);
            swap(n1, i);
        }
    }
}

static long benchmark(void) {
    count = 0;
    for (int i = 0; i < 6; i++) v[i] = 0;
    permute(6);
    return count;
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++) {
        long result = benchmark();
        if (result != 8660) return -1;  /* the published result */
        total += result;
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 150));
    return 0;
}
