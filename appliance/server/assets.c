/*
 * The embedded web UI (web/ui, compiled in by web/embed.cmake): GET / and
 * /index.html answer the page, GET /assets/NAME its scripts and styles,
 * and any other GET outside /api answers the page too, so a client-side
 * address such as /applications/guestbook survives a reload or a bookmark.
 *
 * These routes need no session: the files are the same for everyone and
 * hold no data (everything the UI shows comes from /api/v1 with the
 * session), and the login page itself has to load before anyone is signed
 * in. They still carry the security headers of every answer.
 *
 * Caching: the file names are stable (ES modules import each other by
 * name, and rewriting every import to a hashed name would need a bundler),
 * so every file is sent with "Cache-Control: no-cache" and a strong ETag:
 * a browser keeps its copy and revalidates it, and an unchanged file costs
 * one 304 with no body. A new binary changes the ETag of every file it
 * changed, so an upgrade is never mixed with a stale cached module. The
 * compressed form is sent when the client accepts gzip (every browser);
 * its ETag carries a "-gz" suffix, as the bytes differ.
 */
#include <civetweb.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "server/internal.h"
#include "web/assets.h"

static const struct web_asset *assets_find(const char *name)
{
    size_t i;
    for (i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].name, name) == 0)
            return &web_assets[i];
    return NULL;
}

/* 1 if the Accept-Encoding header lists gzip without "q=0". */
static int assets_accepts_gzip(struct mg_connection *conn)
{
    const char *h = mg_get_header(conn, "Accept-Encoding");

    while (h && *h) {
        size_t n;
        while (*h == ' ' || *h == ',')
            h++;
        n = strcspn(h, ",");
        if (n >= 4 && strncasecmp(h, "gzip", 4) == 0 && (n == 4 || h[4] == ';' || h[4] == ' ')) {
            const char *q = h + 4;
            while (q < h + n && (*q == ' ' || *q == ';'))
                q++;
            /* "q=0", "q=0.0", "q=0.000": refused; any other weight accepts */
            if (q + 2 <= h + n && strncasecmp(q, "q=", 2) == 0) {
                const char *v = q + 2;
                int zero = *v == '0';
                for (v++; zero && v < h + n && *v != ' '; v++)
                    zero = *v == '.' || *v == '0';
                return !zero;
            }
            return 1;
        }
        h += n;
    }
    return 0;
}

/* 1 if If-None-Match names this file's content in either encoding. The
 * header is a list of quoted tags (or "*"); the shared hash prefix is what
 * identifies the content. */
static int assets_not_modified(struct mg_connection *conn, const struct web_asset *a)
{
    const char *h = mg_get_header(conn, "If-None-Match");
    char hash[64];
    size_t n = strlen(a->etag);

    if (!h)
        return 0;
    if (strcmp(h, "*") == 0)
        return 1;
    /* a->etag without its closing quote: matches "HASH" and "HASH-gz" */
    if (n < 2 || n - 1 >= sizeof(hash))
        return 0;
    memcpy(hash, a->etag, n - 1);
    hash[n - 1] = '\0';
    return strstr(h, hash) != NULL;
}

static int assets_send(struct mg_connection *conn, const struct web_asset *a)
{
    int gz = assets_accepts_gzip(conn);
    char etag[80];
    size_t n = strlen(a->etag);

    if (gz && n >= 2 && n + 3 < sizeof(etag)) {
        memcpy(etag, a->etag, n - 1);
        str_copy(etag + n - 1, "-gz\"", sizeof(etag) - (n - 1));
    } else {
        gz = 0;
        str_copy(etag, a->etag, sizeof(etag));
    }
    {
        const char *const hdr[] = {
            "ETag", etag, "Vary", "Accept-Encoding", gz ? "Content-Encoding" : NULL, "gzip", NULL};
        if (assets_not_modified(conn, a))
            return server_send_bytes(conn, 304, NULL, "no-cache", NULL, 0, hdr);
        return server_send_bytes(conn, 200, a->type, "no-cache", gz ? a->gz : a->data,
                                 gz ? a->gz_len : a->len, hdr);
    }
}

int server_get_index(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct web_asset *a = assets_find("index.html");
    if (!a)
        return server_error(conn, 404, "this build has no web UI", NULL);
    return assets_send(conn, a);
}

int server_get_asset(server *srv, struct mg_connection *conn, const char *arg)
{
    const struct web_asset *a = arg ? assets_find(arg) : NULL;
    if (!a)
        return server_error(conn, 404, "not found", NULL);
    return assets_send(conn, a);
}

int server_is_page_path(const char *path)
{
    /* Not under /api (data), not under /assets (a missing file is a 404,
     * never the page in its place). */
    return !(strcmp(path, "/api") == 0 || str_has_prefix(path, "/api/") ||
             str_has_prefix(path, "/assets/"));
}
