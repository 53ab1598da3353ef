/* Benchmark driver: runs several commands round-robin (so machine noise hits all alike),
 * times each run, and takes the peak RSS of each run's whole waited-for process tree from
 * wait4()'s rusage (ru_maxrss folds in every descendant that was reaped below it). Prints one
 * line per command: label, median/p10/p90 wall ms, median and max peak RSS in KiB, failures.
 *   oci_bench RUNS WARMUP -- LABEL CMD ARGS... [-- LABEL CMD ARGS...]... */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8

struct cmd {
    const char *label;
    char **argv;
    double *ms;
    long *rss;
    int n, failures;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int run_once(struct cmd *c, bool record)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(c->argv[0], c->argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        return -1;
    double t = now_ms() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        c->failures++;
    if (record) {
        c->ms[c->n] = t;
        c->rss[c->n] = ru.ru_maxrss;
        c->n++;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: oci_bench RUNS WARMUP -- LABEL CMD ARGS... [-- ...]\n");
        return 2;
    }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]);
    struct cmd cmds[MAX_CMDS];
    int n = 0;
    /* Each "--" ends the previous command (becomes its argv terminator) and starts the next. */
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--") != 0)
            continue;
        argv[i] = NULL;
        if (n == MAX_CMDS || i + 2 >= argc || strcmp(argv[i + 2], "--") == 0) {
            fprintf(stderr, "oci_bench: bad command list\n");
            return 2;
        }
        cmds[n] = (struct cmd){.label = argv[i + 1], .argv = &argv[i + 2]};
        cmds[n].ms = calloc((size_t)runs, sizeof(double));
        cmds[n].rss = calloc((size_t)runs, sizeof(long));
        if (cmds[n].ms == NULL || cmds[n].rss == NULL)
            return 1;
        n++;
    }
    for (int r = 0; r < warmup + runs; r++)
        for (int c = 0; c < n; c++)
            if (run_once(&cmds[c], r >= warmup) < 0) {
                perror("oci_bench");
                return 1;
            }
    for (int c = 0; c < n; c++) {
        struct cmd *x = &cmds[c];
        qsort(x->ms, (size_t)x->n, sizeof(double), cmp_double);
        qsort(x->rss, (size_t)x->n, sizeof(long), cmp_long);
        printf("%s median_ms=%.2f p10_ms=%.2f p90_ms=%.2f rss_kib_median=%ld rss_kib_max=%ld "
               "failures=%d\n",
               x->label, x->ms[x->n / 2], x->ms[x->n / 10], x->ms[(x->n * 9) / 10],
               x->rss[x->n / 2], x->rss[x->n - 1], x->failures);
    }
    return 0;
}
