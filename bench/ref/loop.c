/* An integer loop. Same algorithm as programs/loop.toy. */
#include <stdio.h>
#include <stdlib.h>

long bench(long n) {
    long total = 0;
    for (long i = 0; i < n; i++) {
        long x = i * 7 + 3;
        if (x % 5 == 0) total = total + x; else total = total ^ (x >> 1);
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 200000000));
    return 0;
}
