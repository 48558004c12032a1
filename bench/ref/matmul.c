/* Dense float matrix multiply. Same algorithm as programs/matmul.toy. */
#include <stdio.h>
#include <stdlib.h>

long bench(long n) {
    double *a = calloc(n * n, sizeof(double)), *b = calloc(n * n, sizeof(double));
    double *c = calloc(n * n, sizeof(double));
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            a[i * n + j] = (double)((i + 2 * j) % 7) - 3.0;
            b[i * n + j] = (double)((3 * i + j) % 5) * 0.5;
        }
    for (long i = 0; i < n; i++)
        for (long k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (long j = 0; j < n; j++) c[i * n + j] = c[i * n + j] + aik * b[k * n + j];
        }
    double sum = 0.0;
    for (long i = 0; i < n * n; i++) sum = sum + c[i] * (double)(i % 13);
    free(a); free(b); free(c);
    return (long)sum;
}

int main(int argc, char **argv) {
    printf("%ld\n", bench(argc > 1 ? atol(argv[1]) : 600));
    return 0;
}
