#include "apply.h"

#include <string.h>

#include "core/mem.h"

void apply_merge(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        json_t *d = json_object_get(dst, k);
        if (json_is_object(v) && json_is_object(d))
            apply_merge(d, v);
        else
            json_object_set_new(dst, k, json_deep_copy(v));
    }
}

void apply_merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *t = json_object_get(target, k);
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            apply_merge_patch(t, v);
        } else {
            json_object_set_new(target, k, json_deep_copy(v));
        }
    }
}

void apply_prune(json_t *live, const json_t *old_fields, const json_t *new_fields,
                 const json_t *const *others, size_t n)
{
    const char *k;
    json_t *v;
    void *tmp;
    if (!json_is_object(live))
        return;
    json_object_foreach_safe((json_t *)old_fields, tmp, k, v)
    {
        const json_t *sub[APPLY_MAX_MANAGERS];
        size_t m = 0;
        int owned_by_other = 0;
        json_t *nv = json_object_get(new_fields, k);
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object_get(others[i], k);
            if (!o)
                continue;
            if (!json_is_object(o))
                owned_by_other = 1; /* a leaf there: the whole subtree is theirs */
            else if (m < APPLY_MAX_MANAGERS)
                sub[m++] = o;
        }
        if (owned_by_other)
            continue;
        if (json_is_object(v) && json_object_size(v) > 0) {
            json_t *lv = json_object_get(live, k);
            apply_prune(lv, v, json_is_object(nv) ? nv : NULL, sub, m);
            /* A map the manager emptied out and nobody else uses goes too. */
            if (!nv && m == 0 && json_is_object(lv) && json_object_size(lv) == 0)
                json_object_del(live, k);
        } else if (!nv && m == 0) {
            json_object_del(live, k);
        }
    }
}

static void apply_path_push(struct buf *path, const char *k)
{
    buf_putc(path, '.');
    buf_puts(path, k);
}

static int apply_conflicts_at(const json_t *live, const json_t *fields, const json_t *const *others,
                              const char *const *names, size_t n, struct buf *path, struct buf *msg)
{
    const char *k;
    json_t *v;
    int found = 0;
    json_object_foreach((json_t *)fields, k, v)
    {
        size_t mark = path->len;
        json_t *lv = json_object_get(live, k);
        apply_path_push(path, k);
        if (json_is_object(v) && json_object_size(v) > 0 && json_is_object(lv)) {
            const json_t *sub[APPLY_MAX_MANAGERS];
            const char *subn[APPLY_MAX_MANAGERS];
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                json_t *o = json_object_get(others[i], k);
                if (json_is_object(o) && m < APPLY_MAX_MANAGERS) {
                    sub[m] = o;
                    subn[m++] = names[i];
                }
            }
            found += apply_conflicts_at(lv, v, sub, subn, m, path, msg);
        } else if (lv && !json_equal(lv, v)) {
            for (size_t i = 0; i < n; i++) {
                if (json_object_get(others[i], k)) {
                    if (found || msg->len)
                        buf_puts(msg, "\n");
                    buf_printf(msg, "conflict with \"%s\": %s", names[i], path->ptr);
                    found++;
                    break;
                }
            }
        }
        path->len = mark;
        path->ptr[mark] = '\0';
    }
    return found;
}

int apply_conflicts(const json_t *live, const json_t *fields, const json_t *const *others,
                    const char *const *names, size_t n, struct buf *msg)
{
    struct buf path = BUF_INIT;
    int found;
    buf_puts(&path, "");
    found = apply_conflicts_at(live, fields, others, names, n, &path, msg);
    buf_dispose(&path);
    return found;
}

void apply_disown(json_t *owner, const json_t *fields, const json_t *live)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(owner, tmp, k, v)
    {
        json_t *f = json_object_get(fields, k);
        json_t *lv = json_object_get(live, k);
        if (!f)
            continue;
        if (json_is_object(v) && json_is_object(f) && json_object_size(f) > 0) {
            apply_disown(v, f, lv);
            if (json_object_size(v) == 0)
                json_object_del(owner, k);
        } else if (!lv || !json_equal(lv, f)) {
            json_object_del(owner, k);
        }
    }
}

json_t *apply_fields_v1(const json_t *fields)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)fields, k, v)
    {
        char *fk = xasprintf("f:%s", k);
        json_t *sub;
        if (json_is_object(v) && json_object_size(v) > 0) {
            sub = apply_fields_v1(v);
            json_object_set_new(sub, ".", json_object());
        } else {
            sub = json_object();
        }
        json_object_set_new(out, fk, sub);
        free(fk);
    }
    return out;
}

json_t *apply_changed(const json_t *before, const json_t *now)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)now, k, v)
    {
        json_t *b = json_object_get(before, k);
        if (json_is_object(v) && json_is_object(b)) {
            json_t *sub = apply_changed(b, v);
            if (json_object_size(sub) > 0)
                json_object_set_new(out, k, sub);
            else
                json_decref(sub);
        } else if (!b || !json_equal(b, v)) {
            json_object_set_new(out, k, json_deep_copy(v));
        }
    }
    return out;
}
