/* The runtime of an executable `vmlab build` made: what compiled code calls
 * outside itself when no Python host is there (jit/runtime.py is that host
 * for the JIT). Written in C, not in LLVM IR, because its real work is the C
 * library's: printing floats exactly as Python's repr does (shortest digits
 * that read back the same: printf and strtod, both correctly rounded in glibc
 * and in wasi-libc), buffered output, malloc and free, and a thread with a
 * big stack. Each target's C compiler builds it once (jit/build.py).
 *
 * Everything that names a program's places, strings and error messages comes
 * from the program's object file (jit/build.py writes those tables from
 * vmlab.values and vmlab.errors), so that the messages have one source.
 * Compiled code never returns here after an error: rt_raise prints the error
 * and the toy traceback and ends the process, so no setjmp/longjmp is needed
 * (WASI has none). */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef __wasm__
#include <pthread.h>
#include <signal.h>
#endif

/* --- the program's object file: jit/build.py's tables --- */
extern void vmlab_run(int32_t *shadow);     /* <main> at depth 0 */
extern const int64_t vmlab_max_depth;       /* calls, as the lowering checks them */
extern const int64_t vmlab_stack_bytes;     /* the native stack compiled code runs on */
extern const int64_t vmlab_traceback_limit; /* vmlab.errors.TRACEBACK_LIMIT */
extern const char *const vmlab_source_name;
extern const int64_t vmlab_codes;           /* code objects: <main>, then functions */
extern const char *const vmlab_code_names[];
extern const int64_t vmlab_code_starts[];   /* first site of each code, then the end */
extern const int32_t vmlab_lines[];         /* source line per site */
extern const char *const vmlab_strings[];   /* print's string constants, by number */
extern const int64_t vmlab_string_sizes[];
extern const char *const vmlab_messages[];  /* printf format per error kind */
extern const int64_t vmlab_type_errors;     /* (operation << 32 | packed tags) -> message */
extern const int64_t vmlab_type_error_keys[];
extern const char *const vmlab_type_error_messages[];

/* --- what compiled code reads and calls (jit.lower RUNTIME_*) --- */
int32_t *rt_shadow;     /* call site per depth, after SHADOW_HEADER slots */
int64_t rt_live;        /* arrays alive */

enum { DIVISION_BY_ZERO = 1, INDEX_ERROR, STACK_OVERFLOW, NEGATIVE_LENGTH, TOO_LONG,
       TYPE_ERROR, OUT_OF_MEMORY, INTERRUPTED };
enum { TAG_NIL, TAG_BOOL, TAG_INT, TAG_FLOAT, TAG_INTS, TAG_FLOATS, TAG_BOOLS, PRINT_STRING };
#define SHADOW_HEADER 4 /* i32 slots: the interrupt flag and the call limit */

typedef struct { int64_t length; void *data; int64_t refs, owner; } Header;

static int line_started;

/* The shortest decimal that reads back as x (finite, not negative), as
 * Python's repr finds it: its digits, without trailing zeros, and the number
 * of digits before the decimal point. At each length the nearest decimal of
 * that many digits is tried, then the next one up and down: at a power of
 * two the doubles below are twice as close as those above, so the nearest
 * may fall outside what reads back as x while the next one up does not
 * (2**89: 6.189700196426902e+26, where the nearest 16 digits end in 901). */
static int shortest(double x, char *digits) {
    char buf[40];
    for (int precision = 1;; precision++) {
        snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
        char *e = strchr(buf, 'e');
        unsigned long long m = 0;
        for (char *p = buf; p < e; p++)
            if (*p != '.') m = m * 10 + (unsigned long long)(*p - '0');
        int scale = atoi(e + 1) - (precision - 1); /* x is about m * 10**scale */
        static const int steps[] = {0, 1, -1};
        for (int i = 0; i < 3; i++) {
            unsigned long long c = m + (unsigned long long)(long long)steps[i];
            snprintf(buf, sizeof buf, "%llue%d", c, scale);
            if (strtod(buf, NULL) != x) continue;
            int n = snprintf(digits, 24, "%llu", c), point = n + scale;
            while (n > 1 && digits[n - 1] == '0') n--;
            digits[n] = 0;
            return point;
        }
    }
}

/* Python's repr of a float: the fewest digits that read back as x, in
 * fixed notation for 1e-4 <= |x| < 1e16, else as d.ddde+XX. */
static void put_float(double x) {
    char digits[24];
    if (isnan(x)) { fputs("nan", stdout); return; }
    if (isinf(x)) { fputs(x < 0 ? "-inf" : "inf", stdout); return; }
    if (signbit(x)) { putchar('-'); x = -x; }
    int point = shortest(x, digits), n = (int)strlen(digits);
    if (point <= -4 || point > 16) {
        printf("%c", digits[0]);
        if (n > 1) printf(".%s", digits + 1);
        printf("e%c%02d", point - 1 < 0 ? '-' : '+', abs(point - 1));
    } else if (point <= 0) {
        fputs("0.", stdout);
        for (int i = point; i < 0; i++) putchar('0');
        fputs(digits, stdout);
    } else if (point >= n) {
        fputs(digits, stdout);
        for (int i = n; i < point; i++) putchar('0');
        fputs(".0", stdout);
    } else {
        printf("%.*s.%s", point, digits, digits + point);
    }
}

static void put_value(int64_t tag, int64_t bits) {
    switch (tag) {
    case TAG_NIL: fputs("nil", stdout); return;
    case TAG_BOOL: fputs(bits ? "true" : "false", stdout); return;
    case TAG_INT: printf("%lld", (long long)bits); return;
    case TAG_FLOAT: { double x; memcpy(&x, &bits, 8); put_float(x); return; }
    }
    const Header *a = (const Header *)(intptr_t)bits;
    putchar('[');
    for (int64_t i = 0; i < a->length; i++) {
        if (i) fputs(", ", stdout);
        if (tag == TAG_BOOLS) put_value(TAG_BOOL, ((const int8_t *)a->data)[i]);
        else put_value(tag == TAG_INTS ? TAG_INT : TAG_FLOAT, ((const int64_t *)a->data)[i]);
    }
    putchar(']');
}

void rt_print(int64_t tag, int64_t bits) {
    if (line_started) putchar(' ');
    line_started = 1;
    if (tag == PRINT_STRING) fwrite(vmlab_strings[bits], 1, vmlab_string_sizes[bits], stdout);
    else put_value(tag, bits);
}

void rt_print_end(void) {
    putchar('\n');
    line_started = 0;
}

void rt_free(Header *header) {
    rt_live--;
    free(header);
}

static void put_place(int64_t site) {
    int64_t code = 0;
    while (code + 1 < vmlab_codes && vmlab_code_starts[code + 1] <= site) code++;
    fprintf(stderr, "  at %s (%s:%d)\n", vmlab_code_names[code], vmlab_source_name,
            vmlab_lines[site]);
}

/* A runtime error: the output so far, `error: MESSAGE`, the toy frames
 * (shadow[d] is the site that made frame d, <main> is frame 0), status 1. */
void rt_raise(int64_t kind, int64_t site, int64_t depth, int64_t a, int64_t b, int32_t caller) {
    rt_shadow[depth] = caller;
    fflush(stdout);
    fputs("error: ", stderr);
    if (kind == TYPE_ERROR) {
        int64_t key = a << 32 | b, i = 0;
        while (i < vmlab_type_errors && vmlab_type_error_keys[i] != key) i++;
        fputs(i < vmlab_type_errors ? vmlab_type_error_messages[i] : "type error", stderr);
    } else if (kind == OUT_OF_MEMORY || kind == INTERRUPTED) {
        fputs(vmlab_messages[kind], stderr); /* (no traceback, as in the interpreter) */
        fputc('\n', stderr);
        exit(kind == INTERRUPTED ? 128 + 2 : 1); /* (SIGINT: as shells and vmlab say) */
    } else {
        fprintf(stderr, vmlab_messages[kind], (long long)a, (long long)b);
    }
    fputc('\n', stderr);
    int64_t frames = depth + 1, limit = vmlab_traceback_limit, half = limit / 2;
    for (int64_t f = 0; f < frames; f++) {
        if (frames > limit && f == half) {
            fprintf(stderr, "  ... %lld more calls ...\n", (long long)(frames - limit));
            f = frames - half - 1;
            continue;
        }
        put_place(f + 1 < frames ? rt_shadow[f + 1] : site);
    }
    exit(1);
}

#ifndef __wasm__
/* Ctrl-C: compiled code polls the flag at every loop back-edge and, through
 * the call limit, at every call (jit.runtime: a stop), and raises
 * INTERRUPTED there, so the output so far is written, as in every tier. */
static void interrupt(int signal) {
    (void)signal;
    __atomic_store_n((int64_t *)rt_shadow - 2, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n((int64_t *)rt_shadow - 1, 0, __ATOMIC_SEQ_CST);
}
#endif

static void *run(void *unused) {
    /* The call limit (SHADOW_LIMIT, the i64 before the shadow stack): a
     * call at this depth raises `stack overflow`; the stack has room for
     * that many frames (jit.build). */
    ((int64_t *)rt_shadow)[-1] = vmlab_max_depth;
    if (__atomic_load_n((int64_t *)rt_shadow - 2, __ATOMIC_SEQ_CST))
        ((int64_t *)rt_shadow)[-1] = 0; /* (stopped before this line: see interrupt) */
    vmlab_run(rt_shadow);
    return unused;
}

int main(void) {
    static char buffer[1 << 16];
    /* (Line by line on a terminal, as vmlab.output does.) */
    setvbuf(stdout, buffer, isatty(1) ? _IOLBF : _IOFBF, sizeof buffer);
    int32_t *shadow = calloc(SHADOW_HEADER + vmlab_max_depth + 2, sizeof(int32_t));
    if (!shadow) { fputs("error: out of memory\n", stderr); return 1; }
    rt_shadow = shadow + SHADOW_HEADER;
#ifdef __wasm__
    run(NULL); /* (the linker gave the stack vmlab_stack_bytes) */
#else
    signal(SIGINT, interrupt);
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, (size_t)vmlab_stack_bytes) != 0 ||
        pthread_create(&thread, &attr, run, NULL) != 0) {
        fputs("error: out of memory\n", stderr);
        return 1;
    }
    pthread_join(thread, NULL);
#endif
    return fflush(stdout) == 0 ? 0 : 1;
}
