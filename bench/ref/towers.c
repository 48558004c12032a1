/* Towers (Are We Fast Yet). Same algorithm as programs/towers.toy: each
   pile a stack in an array. */
#include <stdio.h>
#include <stdlib.h>

static long piles[48], heights[3], moves;

static int push_disk(long size, long pile) {
    long h = heights[pile];
    if (h > 0 && size >= piles[16 * pile + h - 1]) {
        printf("Cannot put a big disk on a smaller one\n");
        return 0;
    }
    piles[16 * pile + h] = size;
    heights[pile] = h + 1;
    return 1;
}

static long pop_disk_from(long pile) {
    long h = heights[pile];
    if (h == 0) {
        printf("Attempting to remove a disk from an empty pile\n");
        return -1;
    }
    heights[pile] = h - 1;
    return piles[16 * pile + h - 1];
}

static void move_top_disk(long from_pile, long to_pile) {
    push_disk(pop_disk_from(from_pile), to_pile);
    moves++;
}

static void build_tower_at(long pile, long disks) {
    for (long i = disks; i >= 0; i--) push_disk(i, pile);
}

static void move_discs(long disks, long from_pile, long to_pile) {
    if (disks == 1) {
        move_top_disk(from_pile, to_pile);
    } else {
        long other_pile = (3 - from_pile) - to_pile;
        move_discs(disks - 1, from_pile, other_pile);
        move_top_disk(from_pile, to_pile);
        move_discs(disks - 1, other_pile, to_pile);
    }
}

static long benchmark(void) {
    for (int i = 0; i < 48; i++) piles[i] = 0;
    for (int i = 0; i < 3; i++) heights[i] = 0;
    build_tower_at(0, 13);
    moves = 0;
    move_discs(13, 0, 1);
    return moves;
}

long bench(long n) {
    long total = 0;
    for (long k = 0; k < n; k++) {
        long result = benchmark();
        if (result != 8191) return -1;  /* the published result */
        total += result;
    }
    return total;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 60));
    return 0;
}
