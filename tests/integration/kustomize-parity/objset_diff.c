/*
 * objset_diff A B: compare two YAML streams of Kubernetes objects as sets
 * keyed by group/kind/namespace/name (order ignored, everything else
 * exact). Prints each difference and exits 1 if there is any, 2 if a
 * file cannot be read or parsed.
 */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "doc/doc.h"

/* key -> object */
static int load(const char *path, json_t **out)
{
    struct buf data = BUF_INIT;
    json_t *docs = NULL, *d;
    size_t i;
    int rc;

    *out = json_object();
    if ((rc = fs_read_file(path, 64u << 20, &data)) < 0 ||
        (rc = doc_parse_yaml(&docs, buf_cstr(&data), data.len, path, NULL)) < 0) {
        fprintf(stderr, "objset_diff: %s\n", err_last());
        buf_dispose(&data);
        return rc;
    }
    json_array_foreach(docs, i, d)
    {
        const char *av = doc_get_str(d, "apiVersion"), *slash = av ? strchr(av, '/') : NULL;
        const char *ns = doc_get_str(d, "metadata.namespace");
        char *key =
            xasprintf("%.*s/%s/%s/%s", slash ? (int)(slash - av) : 0, av ? av : "",
                      doc_get_str(d, "kind") ? doc_get_str(d, "kind") : "?", ns ? ns : "",
                      doc_get_str(d, "metadata.name") ? doc_get_str(d, "metadata.name") : "?");
        json_object_set(*out, key, d);
        free(key);
    }
    json_decref(docs);
    buf_dispose(&data);
    return 0;
}

int main(int argc, char **argv)
{
    json_t *a = NULL, *b = NULL, *v;
    const char *key;
    int diff = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: objset_diff A.yaml B.yaml\n");
        return 2;
    }
    if (load(argv[1], &a) < 0 || load(argv[2], &b) < 0) {
        json_decref(a);
        json_decref(b);
        return 2;
    }
    json_object_foreach(a, key, v)
    {
        json_t *w = json_object_get(b, key);
        if (!w) {
            printf("only in %s: %s\n", argv[1], key);
            diff = 1;
        } else if (!doc_equal(v, w)) {
            struct buf x = BUF_INIT, y = BUF_INIT;
            doc_emit_json(&x, v, 0);
            doc_emit_json(&y, w, 0);
            printf("differs: %s\n  %s: %s\n  %s: %s\n", key, argv[1], buf_cstr(&x), argv[2],
                   buf_cstr(&y));
            buf_dispose(&x);
            buf_dispose(&y);
            diff = 1;
        }
    }
    json_object_foreach(b, key, v)
    {
        if (!json_object_get(a, key)) {
            printf("only in %s: %s\n", argv[2], key);
            diff = 1;
        }
    }
    json_decref(a);
    json_decref(b);
    return diff;
}
