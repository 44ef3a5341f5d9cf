/*
 * A pointer is resolved to its parent container and last token, because
 * every operation but test acts on the parent (set a key, insert into an
 * array). Operations work on the tree in place; the caller applies them
 * to a copy.
 */
#include "doc/patch.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

int doc_patch_json_well_formed(const json_t *patch)
{
    size_t i;
    const json_t *op;
    if (!json_is_array(patch))
        return 0;
    json_array_foreach(patch, i, op)
    {
        if (!json_is_object(op))
            return 0;
    }
    return 1;
}

/* The next reference token of pointer *p (after its '/'), unescaped (~1
 * is '/', ~0 is '~'); a new string. *p moves past it. */
static char *patch_json_token(const char **p)
{
    const char *s = *p + 1;
    size_t n = strcspn(s, "/");
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
            out[j++] = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    *p = s + n;
    return out;
}

long doc_pointer_index(const char *tok)
{
    char *end;
    long v;
    if (!tok[0] || (tok[0] == '0' && tok[1]) || tok[0] < '0' || tok[0] > '9')
        return -1;
    v = strtol(tok, &end, 10);
    return *end ? -1 : v;
}

static json_t *patch_json_child(json_t *v, const char *tok)
{
    if (json_is_object(v))
        return json_object_get(v, tok);
    if (json_is_array(v)) {
        long i = doc_pointer_index(tok);
        return i >= 0 ? json_array_get(v, (size_t)i) : NULL;
    }
    return NULL;
}

/* The value at path, borrowed; NULL if absent. */
static json_t *patch_json_get(json_t *doc, const char *path)
{
    const char *p = path;
    json_t *v = doc;
    while (v && *p == '/') {
        char *tok = patch_json_token(&p);
        v = patch_json_child(v, tok);
        free(tok);
    }
    return *p ? NULL : v;
}

/* The container holding path's last token (borrowed) and that token
 * (new), or NULL when the parent does not exist. path is not "". */
static json_t *patch_json_parent(json_t *doc, const char *path, char **last)
{
    const char *slash = strrchr(path, '/');
    char *ppath = xstrndup(path, (size_t)(slash - path));
    json_t *parent = patch_json_get(doc, ppath);
    const char *p = slash;
    free(ppath);
    *last = patch_json_token(&p);
    if (!json_is_object(parent) && !json_is_array(parent)) {
        free(*last);
        *last = NULL;
        return NULL;
    }
    return parent;
}

static int patch_json_add(json_t **doc, const char *path, const json_t *value)
{
    char *last = NULL;
    json_t *parent;
    int rc = 0;
    if (!path[0]) {
        json_decref(*doc);
        *doc = json_deep_copy(value);
        return 0;
    }
    if (!(parent = patch_json_parent(*doc, path, &last)))
        return err_set(ERR_INVALID,
                       "add operation does not apply: doc is missing path: \"%s\": "
                       "missing value",
                       path);
    if (json_is_object(parent)) {
        json_object_set_new(parent, last, json_deep_copy(value));
    } else if (strcmp(last, "-") == 0) {
        json_array_append_new(parent, json_deep_copy(value));
    } else {
        long i = doc_pointer_index(last);
        if (i < 0 || (size_t)i > json_array_size(parent))
            rc = err_set(ERR_INVALID,
                         "add operation does not apply: doc is missing path: "
                         "\"%s\": missing value",
                         path);
        else
            json_array_insert_new(parent, (size_t)i, json_deep_copy(value));
    }
    free(last);
    return rc;
}

static int patch_json_remove(json_t *doc, const char *path, const char *op)
{
    char *last = NULL;
    json_t *parent = path[0] ? patch_json_parent(doc, path, &last) : NULL;
    int rc = 0;
    if (!parent || !patch_json_child(parent, last)) {
        free(last);
        if (strcmp(op, "remove") == 0)
            return err_set(ERR_INVALID, "Unable to remove nonexistent key: %s: missing value",
                           path);
        return err_set(ERR_INVALID,
                       "%s operation does not apply: doc is missing from path: %s: "
                       "missing value",
                       op, path);
    }
    if (json_is_object(parent))
        json_object_del(parent, last);
    else
        json_array_remove(parent, (size_t)doc_pointer_index(last));
    free(last);
    return rc;
}

static int patch_json_one(json_t **doc, const json_t *op)
{
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *path = json_string_value(json_object_get(op, "path"));
    const char *from = json_string_value(json_object_get(op, "from"));
    const json_t *value = json_object_get(op, "value");
    json_t *v;
    int rc;

    if (!name)
        return err_set(ERR_INVALID, "Unexpected kind: unknown");
    if (!path)
        return err_set(ERR_INVALID, "%s operation missing path", name);
    if (path[0] && path[0] != '/')
        return err_set(ERR_INVALID, "%s operation does not apply: doc is missing path: %s", name,
                       path);
    if (strcmp(name, "add") == 0) {
        if (!value)
            return err_set(ERR_INVALID, "add operation missing value");
        return patch_json_add(doc, path, value);
    }
    if (strcmp(name, "remove") == 0)
        return patch_json_remove(*doc, path, "remove");
    if (strcmp(name, "replace") == 0) {
        if (!value)
            return err_set(ERR_INVALID, "replace operation missing value");
        if (!patch_json_get(*doc, path))
            return err_set(ERR_INVALID,
                           "replace operation does not apply: doc is missing key: "
                           "%s: missing value",
                           path);
        if (path[0] && (rc = patch_json_remove(*doc, path, "replace")) < 0)
            return rc;
        return patch_json_add(doc, path, value);
    }
    if (strcmp(name, "test") == 0) {
        if (!value)
            return err_set(ERR_INVALID, "test operation missing value");
        v = patch_json_get(*doc, path);
        if (!v || !json_equal(v, value))
            return err_set(ERR_INVALID, "testing value %s failed: test failed", path);
        return 0;
    }
    if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        if (!from)
            return err_set(ERR_INVALID, "%s operation missing from", name);
        if (!(v = patch_json_get(*doc, from)))
            return err_set(ERR_INVALID,
                           "%s operation does not apply: doc is missing from path: "
                           "%s: missing value",
                           name, from);
        v = json_deep_copy(v);
        if (name[0] == 'm') {
            size_t flen = strlen(from);
            if (strncmp(path, from, flen) == 0 && path[flen] == '/') {
                json_decref(v);
                return err_set(ERR_INVALID,
                               "move operation does not apply: cannot move %s into "
                               "its own child %s",
                               from, path);
            }
            if ((rc = patch_json_remove(*doc, from, "move")) < 0) {
                json_decref(v);
                return rc;
            }
        }
        rc = patch_json_add(doc, path, v);
        json_decref(v);
        return rc;
    }
    return err_set(ERR_INVALID, "Unexpected kind: %s", name);
}

int doc_patch_json(json_t **doc, const json_t *patch)
{
    size_t i;
    const json_t *op;
    json_array_foreach(patch, i, op)
    {
        int rc = patch_json_one(doc, op);
        if (rc < 0)
            return rc;
    }
    return 0;
}
