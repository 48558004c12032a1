/* Queens (Are We Fast Yet). Same algorithm as programs/queens.toy. */
#include <stdio.h>
#include <stdlib.h>

static char free_rows[8], free_maxs[16], free_mins[16];
static long queen_rows[8];

static int get_row_column(long r, long c) {
    return free_rows[r] && free_maxs[c + r] && free_mins[c - r + 7];
}

static void set_row_column(long r, long c, char v) {
    free_rows[r] = v;
    free_maxs[c + r] = v;
    free_mins[c - r + 7] = v;
}

static int place_queen(long c) {
    for (long r = 0; r < 8; r++) {
        if (get_row_column(r, c)) {
            queen_rows[r] = c;
            set_row_column(r, c, 0);
            if (c == 7) return 1;
            if (place_queen(c + 1)) return 1;
            set_row_column(r, c, 1);
        }
    }
    return 0;
}

static int queens(void) {
    for (int i = 0; i < 8; i++) { free_rows[i] = 1; queen_rows[i] = -1; }
    for (int i = 0; i < 16; i++) { free_maxs[i] = 1; free_mins[i] = 1; }
    return place_queen(0);
}

static int benchmark(void) {
    int result = 1;
    for (int i = 0; i < 10; i++) result = result && queens();
    return result;
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++)
        if (benchmark()) total++;  /* the published result: true */
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 50));
    return 0;
}
