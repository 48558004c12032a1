/* Recursive Fibonacci: calls and returns. Same algorithm as programs/fib.toy. */
#include <stdio.h>
#include <stdlib.h>

static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

long bench(long n) { return fib(n); }

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 32));
    return 0;
}
