/* libFuzzer target for the /etc files gcs generates from host input (gcs-protocol.md §5.6):
 * the input is split at NUL bytes into hostname, DNS suffix list and DNS server list (the
 * comma-separated strings of a Network adapter), then merged, turned into resolv.conf and hosts
 * text, and written into a scratch directory. Properties besides "no crash, leak or UB":
 *   - the union has no empty item, no duplicate, nothing upper-case;
 *   - resolv.conf is refused exactly when there are more than GCS_NET_MAX_DNS_SEARCH searches
 *     or an item holds white space or a control character, and otherwise every line starts
 *     "search " or "nameserver " (no host text can inject a line of its own);
 *   - hosts text is made only for a valid hostname, and names it;
 *   - the file writer refuses exactly the invalid hostnames. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "gcs/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char scratch[64];

/* The scratch directory goes when the fuzzer (or the replay) exits. */
static void remove_scratch(void)
{
    static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
    char p[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", scratch, files[i]);
        unlink(p);
    }
    rmdir(scratch);
}

static void check_union(char *const *v)
{
    for (size_t i = 0; v[i]; i++) {
        CHECK(v[i][0] != '\0');
        for (const char *c = v[i]; *c; c++)
            CHECK(!isupper((unsigned char)*c));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(v[i], v[j]) != 0);
    }
}

static bool has_blank(char *const *v)
{
    for (size_t i = 0; v[i]; i++)
        for (const char *c = v[i]; *c; c++)
            if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
                return true;
    return false;
}

static void check_resolv(const char *text)
{
    for (const char *l = text; *l;) {
        CHECK(strncmp(l, "search ", 7) == 0 || strncmp(l, "nameserver ", 11) == 0);
        const char *nl = strchr(l, '\n');
        CHECK(nl != NULL); /* every line ends */
        l = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Three NUL-separated fields; missing ones are empty. */
    cleanup_free char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    memset(buf + size, 0, 3);
    const char *hostname = buf;
    const char *suffix = hostname + strlen(hostname) + 1;
    const char *servers = suffix <= buf + size ? suffix + strlen(suffix) + 1 : buf + size + 2;
    if (suffix > buf + size)
        suffix = buf + size + 1;

    cleanup_strv char **s = NULL, **n = NULL;
    CHECK(gcs_net_dns_merge(&s, suffix) == 0);
    CHECK(gcs_net_dns_merge(&n, servers) == 0);
    check_union(s);
    check_union(n);
    size_t ns = 0;
    while (s[ns])
        ns++;
    cleanup_free char *rc = NULL;
    int r = gcs_net_resolv_conf_text(s, n, &rc, NULL);
    CHECK((r == 0) == (ns <= GCS_NET_MAX_DNS_SEARCH && !has_blank(s) && !has_blank(n)));
    if (r == 0)
        check_resolv(rc);

    bool valid = gcs_net_hostname_valid(hostname);
    if (valid) {
        cleanup_free char *hosts = NULL;
        CHECK(gcs_net_hosts_text(hostname, &hosts, NULL) == 0);
        CHECK(!hostname[0] || strstr(hosts, hostname) != NULL);
    }
    if (!scratch[0]) {
        snprintf(scratch, sizeof(scratch), "/tmp/fuzz-etc-XXXXXX");
        CHECK(mkdtemp(scratch) != NULL);
        atexit(remove_scratch);
    }
    struct lcow_error *err = NULL;
    r = gcs_net_write_etc_files(scratch, hostname, r == 0 ? rc : NULL, &err);
    CHECK((r == 0) == valid);
    lcow_error_release(&err);
    return 0;
}
