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

/* Python's repr of a float: the fewest digits that read back as x, in
 * fixed notation for 1e-4 <= |x| < 1e16, else as d.ddde+XX. */
static void put_float(double x) {
    char buf[40], digits[24];
    if (isnan(x)) { fputs("nan", stdout); return; }
    if (isinf(x)) { fputs(x < 0 ? "-inf" : "inf", stdout); return; }
    int precision = 1;
    for (; precision < 17; precision++) {
        snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    char *p = buf, *e = strchr(buf, 'e');
    if (*p == '-') { putchar('-'); p++; }
    int n = 0;
    for (; p < e; p++)
        if (*p != '.') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    int point = atoi(e + 1) + 1; /* digits before the decimal point */
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
