/* Start-up: a program that does nothing to speak of. Same as ../programs/startup.toy. */
#include <stdio.h>
#include <stdlib.h>

long bench(long n) {
    return n;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 1));
    return 0;
}
