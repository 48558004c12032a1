/* List (Are We Fast Yet). Same algorithm as programs/list.toy: a pool of
   nodes in arrays. */
#include <stdio.h>
#include <stdlib.h>

static long val[31], next[31], top;

static long make_list(long length) {
    if (length == 0) return -1;
    long e = top++;
    val[e] = length;
    next[e] = make_list(length - 1);
    return e;
}

static long length(long e) {
    if (next[e] == -1) return 1;
    return 1 + length(next[e]);
}

static int is_shorter_than(long x, long y) {
    long x_tail = x, y_tail = y;
    while (y_tail != -1) {
        if (x_tail == -1) return 1;
        x_tail = next[x_tail];
        y_tail = next[y_tail];
    }
    return 0;
}

static long tail(long x, long y, long z) {
    if (is_shorter_than(y, x))
        return tail(tail(next[x], y, z), tail(next[y], z, x), tail(next[z], x, y));
    return z;
}

static long benchmark(void) {
    for (int i = 0; i < 31; i++) { val[i] = 0; next[i] = -1; }
    top = 0;
    long a = make_list(15);
    long b = make_list(10);
    long c = make_list(6);
    return length(tail(a, b, c));
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++) {
        long result = benchmark();
        if (result != 10) return -1;  /* the published result */
        total += result;
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 10));
    return 0;
}
