/*
 * Secret masking for everything edgecd shows of live or desired objects
 * (the API's managed resources, resource manifests, diffs, events). It is
 * Argo CD's HideSecretData, so a Secret looks the same in edgecd's UI as
 * in Argo CD's: a value becomes a run of '+' whose length depends only on
 * which distinct value of that key it is, so target and live still
 * compare equal when the values are, and a changed value still shows as a
 * change. The length says nothing about the value itself.
 *
 * Free text (an event message quoting a value) cannot be masked by
 * structure, so doc_mask_text replaces the values it is given wherever
 * they occur, raw or base64.
 */
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "doc/doc.h"

#define MASK_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MASK_FIRST 8
#define MASK_STEP 4
#define MASK_TEXT_MIN 4

int doc_is_secret(const json_t *obj)
{
    const char *kind = doc_get_str(obj, "kind"), *api = doc_get_str(obj, "apiVersion");
    return kind && api && !strcmp(kind, "Secret") && !strcmp(api, "v1");
}

static char *mask_base64(const char *s, size_t len)
{
    size_t olen = 0;
    char *out;
    mbedtls_base64_encode(NULL, 0, &olen, (const unsigned char *)s, len);
    out = xmalloc(olen + 1);
    if (mbedtls_base64_encode((unsigned char *)out, olen + 1, &olen, (const unsigned char *)s,
                              len) != 0)
        olen = 0;
    out[olen] = '\0';
    return out;
}

/* stringData folded into data as base64, as the API server stores it
 * (Argo CD's NormalizeSecret). */
static void mask_normalize(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData"), *data, *v;
    const char *k;
    if (!json_is_object(sd))
        return;
    data = json_object_get(obj, "data");
    if (!json_is_object(data)) {
        data = json_object();
        json_object_set_new(obj, "data", data);
    }
    json_object_foreach(sd, k, v)
    {
        const char *s = json_string_value(v);
        char *b = mask_base64(s ? s : "", s ? json_string_length(v) : 0);
        json_object_set_new(data, k, json_string(b));
        free(b);
    }
    json_object_del(obj, "stringData");
}

/* A value as text, to tell values apart (non-strings as JSON). */
static char *mask_value_text(const json_t *v)
{
    if (json_is_string(v))
        return xstrndup(json_string_value(v), json_string_length(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

void doc_mask_secrets(json_t *target, json_t *live)
{
    json_t *objs[3] = {NULL, NULL, NULL}, *keys = json_object(), *orig = NULL, *v;
    const char *k, *la;
    size_t i;

    if (!doc_is_secret(target) && !doc_is_secret(live))
        goto out;
    objs[0] = doc_is_secret(target) ? target : NULL;
    objs[1] = doc_is_secret(live) ? live : NULL;
    la = objs[1] ? doc_get_str(live, "metadata.annotations." MASK_LAST_APPLIED) : NULL;
    if (la && (orig = json_loads(la, 0, NULL)) != NULL && json_is_object(orig))
        objs[2] = orig;
    for (i = 0; i < 3; i++) {
        if (!objs[i])
            continue;
        mask_normalize(objs[i]);
        json_object_foreach(json_object_get(objs[i], "data"), k, v)
            json_object_set_new(keys, k, json_true());
    }
    json_object_foreach(keys, k, v)
    {
        /* per key: value text -> its run of '+' */
        json_t *seen = json_object();
        size_t next = MASK_FIRST;
        for (i = 0; i < 3; i++) {
            json_t *data = json_object_get(objs[i], "data"), *val, *run;
            char *text;
            if (!json_is_object(data) || !(val = json_object_get(data, k)))
                continue;
            text = mask_value_text(val);
            run = json_object_get(seen, text ? text : "");
            if (!run) {
                char *plus = xmalloc(next + 1);
                memset(plus, '+', next);
                plus[next] = '\0';
                run = json_string(plus);
                json_object_set_new(seen, text ? text : "", run);
                free(plus);
                next += MASK_STEP;
            }
            json_object_set(data, k, run);
            free(text);
        }
        json_decref(seen);
    }
    if (objs[2]) {
        char *text = json_dumps(orig, JSON_COMPACT);
        json_object_set_new(json_object_get(json_object_get(live, "metadata"), "annotations"),
                            MASK_LAST_APPLIED, json_string(text ? text : "{}"));
        free(text);
    } else if (la) {
        /* not JSON: nothing in it can be shown safely */
        json_object_set_new(json_object_get(json_object_get(live, "metadata"), "annotations"),
                            MASK_LAST_APPLIED, json_string("++++++++"));
    }
out:
    json_decref(orig);
    json_decref(keys);
}

static int mask_longer_first(const void *a, const void *b)
{
    size_t la = json_string_length(*(json_t *const *)a),
           lb = json_string_length(*(json_t *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

json_t *doc_secret_values(const json_t *obj)
{
    json_t *out = json_array(), *v, **sorted;
    const char *k;
    size_t i, n;
    if (!doc_is_secret(obj))
        return out;
    json_object_foreach(json_object_get(obj, "data"), k, v)
    {
        const char *s = json_string_value(v);
        size_t olen = 0;
        unsigned char *raw;
        if (!s)
            continue;
        json_array_append_new(out, json_stringn_nocheck(s, json_string_length(v)));
        raw = xmalloc(json_string_length(v) + 1);
        if (mbedtls_base64_decode(raw, json_string_length(v) + 1, &olen, (const unsigned char *)s,
                                  json_string_length(v)) == 0)
            json_array_append_new(out, json_stringn_nocheck((const char *)raw, olen));
        memset(raw, 0, json_string_length(v) + 1);
        free(raw);
    }
    json_object_foreach(json_object_get(obj, "stringData"), k, v)
    {
        const char *s = json_string_value(v);
        char *b;
        if (!s)
            continue;
        json_array_append_new(out, json_stringn_nocheck(s, json_string_length(v)));
        b = mask_base64(s, json_string_length(v));
        json_array_append_new(out, json_string_nocheck(b));
        free(b);
    }
    /* longest first, so a value that contains another is replaced whole */
    n = json_array_size(out);
    sorted = xmalloc((n ? n : 1) * sizeof(*sorted));
    for (i = 0; i < n; i++)
        sorted[i] = json_incref(json_array_get(out, i));
    qsort(sorted, n, sizeof(*sorted), mask_longer_first);
    json_array_clear(out);
    for (i = 0; i < n; i++)
        json_array_append_new(out, sorted[i]);
    free(sorted);
    return out;
}

char *doc_mask_text(const char *text, const json_t *values)
{
    char *cur = xstrdup(text ? text : "");
    json_t *v;
    size_t i;
    json_array_foreach(values, i, v)
    {
        const char *needle = json_string_value(v), *p, *from;
        size_t nlen = json_string_length(v);
        struct buf b = BUF_INIT;
        if (!needle || nlen < MASK_TEXT_MIN || memchr(needle, '\0', nlen) || !strstr(cur, needle))
            continue;
        for (from = cur; (p = strstr(from, needle)) != NULL; from = p + nlen) {
            buf_put(&b, from, (size_t)(p - from));
            buf_puts(&b, "++++++++");
        }
        buf_puts(&b, from);
        free(cur);
        cur = buf_detach(&b);
    }
    return cur;
}
