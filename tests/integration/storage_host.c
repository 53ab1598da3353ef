/* Test host for storage through the real bridge: listens on ADDR, accepts the gcs the test
 * started (`gcs -bridge unix:...`), negotiates, then turns each stdin line into a ModifySettings
 * request and answers one line, the same line protocol as storage_drive:
 *     OK
 *     ERR <HRESULT> <ErrorMessage>
 * `PAIR <slow JSON>\t<fast JSON>` sends both back to back and prints
 * `PAIR <fast result> <fast ms> <slow result> <slow ms>`, which shows whether a request stuck
 * in a device wait holds up the next one. `TIME <JSON>` answers `OK <microseconds>` (bench).
 * usage: storage_host ADDR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"

#define CALL_TIMEOUT_MS 120000

static int result_of(struct host_message *m, int32_t *ret, char **ret_msg, struct lcow_error **err)
{
    *ret_msg = NULL;
    return host_message_result(m, ret, ret_msg, err);
}

static void print_result(int r, int32_t result, const char *msg, struct lcow_error *err)
{
    if (r < 0)
        printf("ERR transport %s\n", lcow_error_message(err));
    else if (result == 0)
        printf("OK\n");
    else
        printf("ERR %d %s\n", result, msg ? msg : "");
}

static int call(struct host_bridge *b, const char *json, int32_t *ret_result, char **ret_msg,
                struct lcow_error **err)
{
    struct host_message m = {0};
    int r = host_bridge_call(b, GCS_MSG_MODIFY_SETTINGS, json, CALL_TIMEOUT_MS, &m, err);
    if (r >= 0)
        r = result_of(&m, ret_result, ret_msg, err);
    host_message_done(&m);
    return r;
}

static void do_pair(struct host_bridge *b, char *line)
{
    cleanup_error struct lcow_error *err = NULL;
    char *tab = strchr(line, '\t');
    if (!tab) {
        printf("ERR usage PAIR slow<TAB>fast\n");
        return;
    }
    *tab = '\0';
    uint64_t slow_id = 0, fast_id = 0;
    unsigned long long t0 = lcow_now_ns();
    int r = host_bridge_send(b, GCS_MSG_MODIFY_SETTINGS, line, &slow_id, &err);
    if (r >= 0)
        r = host_bridge_send(b, GCS_MSG_MODIFY_SETTINGS, tab + 1, &fast_id, &err);
    struct host_message fast = {0}, slow = {0};
    if (r >= 0)
        r = host_bridge_recv(b, fast_id, CALL_TIMEOUT_MS, &fast, &err);
    unsigned long long t_fast = lcow_now_ns();
    if (r >= 0)
        r = host_bridge_recv(b, slow_id, CALL_TIMEOUT_MS, &slow, &err);
    unsigned long long t_slow = lcow_now_ns();
    int32_t rf = 0, rs = 0;
    cleanup_free char *mf = NULL, *ms = NULL;
    if (r >= 0)
        r = result_of(&fast, &rf, &mf, &err);
    if (r >= 0)
        r = result_of(&slow, &rs, &ms, &err);
    if (r < 0)
        printf("ERR transport %s\n", lcow_error_message(err));
    else
        printf("PAIR %d %llu %d %llu\n", rf, (t_fast - t0) / 1000000ULL, rs,
               (t_slow - t0) / 1000000ULL);
    host_message_done(&fast);
    host_message_done(&slow);
}

#define BURST_MAX 32

static void do_burst(struct host_bridge *b, char *arg)
{
    cleanup_error struct lcow_error *err = NULL;
    char *json = NULL;
    unsigned long n = strtoul(arg, &json, 10);
    if (n == 0 || n > BURST_MAX || !json || *json != ' ') {
        printf("ERR usage BURST <1..%d> <JSON>\n", BURST_MAX);
        return;
    }
    json++;
    uint64_t ids[BURST_MAX];
    int r = 0;
    for (unsigned long i = 0; r >= 0 && i < n; i++)
        r = host_bridge_send(b, GCS_MSG_MODIFY_SETTINGS, json, &ids[i], &err);
    unsigned ok = 0, failed = 0;
    for (unsigned long i = 0; r >= 0 && i < n; i++) {
        struct host_message m = {0};
        int32_t result = 0;
        cleanup_free char *msg = NULL;
        r = host_bridge_recv(b, ids[i], CALL_TIMEOUT_MS, &m, &err);
        if (r >= 0)
            r = result_of(&m, &result, &msg, &err);
        host_message_done(&m);
        if (r >= 0)
            result == 0 ? ok++ : failed++;
    }
    if (r < 0)
        printf("ERR transport %s\n", lcow_error_message(err));
    else
        printf("BURST %u %u\n", ok, failed);
}

static void do_line(struct host_bridge *b, char *line)
{
    cleanup_error struct lcow_error *err = NULL;
    cleanup_free char *msg = NULL;
    int32_t result = 0;
    if (!strncmp(line, "PAIR ", 5)) {
        do_pair(b, line + 5);
    } else if (!strncmp(line, "BURST ", 6)) {
        do_burst(b, line + 6);
    } else if (!strncmp(line, "TIME ", 5)) {
        unsigned long long t0 = lcow_now_ns();
        int r = call(b, line + 5, &result, &msg, &err);
        unsigned long long us = (lcow_now_ns() - t0) / 1000ULL;
        if (r >= 0 && result == 0)
            printf("OK %llu\n", us);
        else
            print_result(r, result, msg, err);
    } else {
        int r = call(b, line, &result, &msg, &err);
        print_result(r, result, msg, err);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ADDR\n", argv[0]);
        return 2;
    }
    cleanup_error struct lcow_error *err = NULL;
    struct host_bridge *b = NULL;
    int r = host_bridge_listen(argv[1], &b, &err);
    if (r >= 0)
        r = host_bridge_accept(b, 20000, &err);
    if (r >= 0)
        r = host_bridge_negotiate(b, 10000, &err);
    if (r < 0) {
        fprintf(stderr, "storage_host: %s\n", lcow_error_message(err));
        host_bridge_free(b);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0)
            do_line(b, line);
    }
    free(line);
    host_bridge_free(b);
    return 0;
}
