/* resolv.conf, hosts and hostname text for sandboxes and standalone containers
 * (gcs-protocol.md §5.6). Pure string work, so the unit tests pin every byte. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/network.h"

#define HOSTNAME_MAX 255

static size_t strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static bool strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Appends s (owned) to *v. */
static int strv_push(char ***v, char *s)
{
    size_t n = strv_len(*v);
    char **nv = realloc(*v, (n + 2) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    nv[n] = s;
    nv[n + 1] = NULL;
    *v = nv;
    return 0;
}

int gcs_net_dns_merge(char ***v, const char *list)
{
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *b = p, *e = p + len;
        /* Go's strings.TrimSpace: ASCII white space at both ends. */
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b) {
            cleanup_free char *item = strndup(b, (size_t)(e - b));
            if (!item)
                return -ENOMEM;
            for (char *c = item; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (!strv_contains(*v, item)) {
                if (strv_push(v, item) < 0)
                    return -ENOMEM;
                item = NULL;
            }
        }
        p = end ? end + 1 : p + len;
    }
    if (!*v) /* an empty union is still a valid (empty) vector */
        return strv_push(v, NULL) < 0 ? -ENOMEM : 0;
    return 0;
}

/* A growable text buffer; every append checks for allocation failure once, at the end. */
struct text {
    char *buf;
    size_t len;
    bool oom;
};

static void text_add(struct text *t, const char *s)
{
    size_t n = strlen(s);
    char *nb;
    if (t->oom)
        return;
    nb = realloc(t->buf, t->len + n + 1);
    if (!nb) {
        t->oom = true;
        return;
    }
    memcpy(nb + t->len, s, n + 1);
    t->buf = nb;
    t->len += n;
}

static int text_finish(struct text *t, char **ret, struct lcow_error **err)
{
    if (!t->oom && !t->buf)
        t->buf = strdup(""); /* nothing was added: empty text */
    if (t->oom || !t->buf) {
        free(t->buf);
        return lcow_error_make(err, ENOMEM, "build text: out of memory");
    }
    *ret = t->buf;
    return 0;
}

/* A search domain or server with white space or a control character inside would start a
 * line of its own in resolv.conf (found by tests/fuzz/fuzz_etc_files.c). */
static int check_dns_items(char *const *v, const char *what, struct lcow_error **err)
{
    for (size_t i = 0; v && v[i]; i++)
        for (const char *c = v[i]; *c; c++)
            if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
                return lcow_error_make(err, EINVAL,
                                       "%s item %zu contains white space or a control character",
                                       what, i);
    return 0;
}

int gcs_net_resolv_conf_text(char *const *searches, char *const *servers, char **ret,
                             struct lcow_error **err)
{
    struct text t = {0};
    size_t ns = strv_len(searches);

    if (ns > GCS_NET_MAX_DNS_SEARCH)
        return lcow_error_make(err, EINVAL, "DNS search list has %zu domains, more than %d", ns,
                               GCS_NET_MAX_DNS_SEARCH);
    if (check_dns_items(searches, "DNSSuffix", err) < 0 ||
        check_dns_items(servers, "DNSServerList", err) < 0)
        return -EINVAL;
    if (ns > 0) {
        text_add(&t, "search");
        for (size_t i = 0; i < ns; i++) {
            text_add(&t, " ");
            text_add(&t, searches[i]);
        }
        text_add(&t, "\n");
    }
    for (size_t i = 0; servers && servers[i]; i++) {
        text_add(&t, "nameserver ");
        text_add(&t, servers[i]);
        text_add(&t, "\n");
    }
    return text_finish(&t, ret, err);
}

bool gcs_net_hostname_valid(const char *hostname)
{
    size_t n = 0;
    for (const char *c = hostname; *c; c++, n++) {
        if (n >= HOSTNAME_MAX)
            return false;
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
        /* isalnum() is locale-dependent; the Go regexp is ASCII only. */
        if ((unsigned char)*c > 0x7f)
            return false;
    }
    return true;
}

int gcs_net_hosts_text(const char *hostname, char **ret, struct lcow_error **err)
{
    struct text t = {0};
    const char *dot = strchr(hostname, '.');

    text_add(&t, "127.0.0.1 localhost\n127.0.0.1 ");
    text_add(&t, hostname);
    if (dot) {
        /* A dotted name also gets its first label, as Go's strings.Split(name, ".")[0]. */
        cleanup_free char *first = strndup(hostname, (size_t)(dot - hostname));
        if (!first)
            t.oom = true;
        else {
            text_add(&t, " ");
            text_add(&t, first);
        }
    }
    text_add(&t, "\n\n# The following lines are desirable for IPv6 capable hosts\n"
                 "::1     ip6-localhost ip6-loopback\n"
                 "fe00::0 ip6-localnet\n"
                 "ff00::0 ip6-mcastprefix\n"
                 "ff02::1 ip6-allnodes\n"
                 "ff02::2 ip6-allrouters\n");
    return text_finish(&t, ret, err);
}

static int write_in(const char *dir, const char *name, const char *text, struct lcow_error **err)
{
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return lcow_error_make(err, ENOMEM, "write %s: out of memory", name);
    return lcow_write_file_atomic(path, text, strlen(text), 0644, err);
}

int gcs_net_write_etc_files(const char *dir, const char *hostname, const char *resolv_conf,
                            struct lcow_error **err)
{
    cleanup_free char *hosts = NULL;
    cleanup_free char *hn = NULL;
    int r;

    if (!gcs_net_hostname_valid(hostname))
        return lcow_error_make(err, EINVAL,
                               "invalid hostname `%.64s`: must match "
                               "^[a-zA-Z0-9_\\-\\.]{0,255}$",
                               hostname);
    r = gcs_net_hosts_text(hostname, &hosts, err);
    if (r < 0)
        return r;
    if (asprintf(&hn, "%s\n", hostname) < 0)
        return lcow_error_make(err, ENOMEM, "hostname: out of memory");
    r = write_in(dir, "hostname", hn, err);
    if (r >= 0)
        r = write_in(dir, "hosts", hosts, err);
    if (r >= 0 && resolv_conf)
        r = write_in(dir, "resolv.conf", resolv_conf, err);
    return r < 0 ? r : 0;
}
