/*
 * Every write goes through verbs_prepare (identity and defaults), then
 * apply.c for who owns what (managedFields), then verbs_commit, which
 * decides what clients watch most closely: whether anything changed at
 * all (if not, resourceVersion and managedFields times stay, so a client
 * that re-applies the same config every poll sees no churn) and whether
 * the generation moves (only when the spec changed; see defaults.h).
 */
#include "verbs.h"

#include <errno.h>
#include <mbedtls/base64.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apply.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "defaults.h"
#include "gc.h"
#include "doc/patch.h"
#include "kinds.h"
#include "objects.h"
#include "selector.h"
#include "status.h"
#include "table.h"
#include "watch.h"
#ifdef KUBESIM_HAVE_DOC
#include "doc/doc.h"
#endif

static char *verbs_api_version(const struct resource *r)
{
    return r->group[0] ? xasprintf("%s/%s", r->group, r->version) : xstrdup(r->version);
}

static json_t *verbs_meta(json_t *obj)
{
    json_t *m = json_object_get(obj, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(obj, "metadata", m);
    }
    return m;
}

static const char *verbs_meta_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static void verbs_reply(struct verbs_call *c, int code, const json_t *obj)
{
    /* All served versions share the stored object; answer in the version
     * that was asked for. */
    json_t *out = json_deep_copy(obj);
    char *av = verbs_api_version(c->r);
    char *text;
    json_object_set_new(out, "apiVersion", json_string(av));
    json_object_set_new(out, "kind", json_string(c->r->kind));
    text = json_dumps(out, JSON_COMPACT);
    c->res->status = code;
    c->res->content_type = "application/json";
    buf_puts(&c->res->body, text);
    buf_putc(&c->res->body, '\n');
    free(text);
    free(av);
    json_decref(out);
}

/* Server-side printing (table.h): obj is one object (a get) or, with
 * meta set, the array of a list's items, each with apiVersion and kind. */
static void verbs_reply_table(struct verbs_call *c, const json_t *obj, json_t *meta)
{
    const char *api = table_wanted(c->req);
    enum table_include inc = table_include_of(c->req);
    json_t *custom = table_custom_columns(c->r);
    json_t *t = table_new(api, c->r->group, c->r->kind, custom, 1);
    char *text;
    if (meta) {
        const json_t *item;
        size_t i;
        json_array_foreach(obj, i, item)
        {
            table_add_row(t, c->r->group, c->r->kind, custom, item, inc);
        }
        json_object_set(t, "metadata", meta);
    } else {
        json_t *copy = json_deep_copy(obj);
        char *av = verbs_api_version(c->r);
        json_object_set_new(copy, "apiVersion", json_string(av));
        json_object_set_new(copy, "kind", json_string(c->r->kind));
        json_object_set(json_object_get(t, "metadata"), "resourceVersion",
                        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        table_add_row(t, c->r->group, c->r->kind, custom, copy, inc);
        json_decref(copy);
        free(av);
    }
    text = json_dumps(t, JSON_COMPACT);
    c->res->status = 200;
    c->res->content_type = "application/json";
    buf_puts(&c->res->body, text);
    buf_putc(&c->res->body, '\n');
    free(text);
    json_decref(t);
    json_decref(custom);
}

static int verbs_query_is(const struct verbs_call *c, const char *name, const char *value)
{
    char *v = httpd_query_get(c->req, name);
    int is = v && strcmp(v, value) == 0;
    free(v);
    return is;
}

/* Parse the body as JSON, or as YAML when the document model is built in
 * (apply bodies may be YAML: application/apply-patch+yaml). NULL with the
 * Status set when it is neither or not an object. */
static json_t *verbs_body(struct verbs_call *c)
{
    json_error_t jerr;
    json_t *v;
    if (c->req->content_type && strstr(c->req->content_type, "protobuf")) {
        /* kubesim speaks JSON only; client-go then retries in JSON. */
        status_reply(c->res, 415, "UnsupportedMediaType", NULL,
                     "the body of the request was in an unknown format - accepted media types "
                     "include: application/json, application/yaml");
        return NULL;
    }
    v = json_loadb(c->req->body, c->req->body_len, JSON_DECODE_ANY, &jerr);
#ifdef KUBESIM_HAVE_DOC
    if (!v) {
        json_t *docs = NULL;
        if (doc_parse_yaml(&docs, c->req->body, c->req->body_len, "request body", NULL) == 0) {
            if (json_array_size(docs) == 1)
                v = json_incref(json_array_get(docs, 0));
            json_decref(docs);
        } else {
            snprintf(jerr.text, sizeof(jerr.text), "%s", err_last());
        }
    }
#endif
    if (!v) {
        status_reply(c->res, 400, "BadRequest", NULL,
                     "the body of the request could not be "
                     "decoded: %s",
                     jerr.text);
        return NULL;
    }
    if (!json_is_object(v) &&
        !(json_is_array(v) && c->req->content_type &&
          str_has_prefix(c->req->content_type, "application/json-patch+json"))) {
        json_decref(v);
        status_reply(c->res, 400, "BadRequest", NULL,
                     "the body of the request was in an unknown format - accepted media types "
                     "include: application/json, application/yaml");
        return NULL;
    }
    return v;
}

/* The checks every written body gets. url_name is NULL for create. 0 or
 * -1 with the Status set. Fills in apiVersion, kind, namespace. */
static int verbs_check_body(struct verbs_call *c, json_t *obj, int typemeta_required)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    char *want = verbs_api_version(c->r);
    json_t *meta = verbs_meta(obj);
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    int rc = -1;

    if (typemeta_required && (!av || !kind)) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s",
                     !av ? "apiVersion must be set" : "kind must be set");
        goto out;
    }
    if ((av && strcmp(av, want) != 0) || (kind && strcmp(kind, c->r->kind) != 0)) {
        /* The real server fails decoding the body into the URL's type. */
        status_reply(c->res, 400, "BadRequest", NULL,
                     "%s in version \"%s\" cannot be handled as a %s: the kind and apiVersion in "
                     "the body must match the URL (%s %s)",
                     kind ? kind : c->r->kind, av ? av : want, c->r->kind, want, c->r->kind);
        goto out;
    }
    if (c->r->namespaced) {
        if (ns && ns[0] && strcmp(ns, c->ns) != 0) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "the namespace of the provided object does not match the namespace "
                         "sent on the request");
            goto out;
        }
        json_object_set_new(meta, "namespace", json_string(c->ns));
    } else {
        json_object_del(meta, "namespace");
    }
    if (c->name && name && strcmp(name, c->name) != 0) {
        status_reply(c->res, 400, "BadRequest", NULL,
                     "the name of the object (%s) does not match the name on the URL (%s)", name,
                     c->name);
        goto out;
    }
    if (c->name)
        json_object_set_new(meta, "name", json_string(c->name));
    json_object_set_new(obj, "apiVersion", json_string(want));
    json_object_set_new(obj, "kind", json_string(c->r->kind));
    rc = 0;
out:
    free(want);
    return rc;
}

/* Name rules, kind rules and the namespace's existence, for creates. */
static int verbs_check_new(struct verbs_call *c, const json_t *obj)
{
    const char *name = verbs_meta_str(obj, "name");
    const char *why, *field = NULL;
    if (!name || !name[0]) {
        status_invalid(c->res, c->r, "", "metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required");
        return -1;
    }
    if ((why = kinds_check_name(c->r, name)) != NULL) {
        char *detail = xasprintf("Invalid value: \"%s\": %s", name, why);
        status_invalid(c->res, c->r, name, "metadata.name", "FieldValueInvalid", detail);
        free(detail);
        return -1;
    }
    if (kinds_validate(c->r, obj, &field) < 0) {
        status_invalid(c->res, c->r, name, field, "FieldValueInvalid", err_last());
        return -1;
    }
    if (c->r->namespaced) {
        const struct resource *nsr = resources_find("", "v1", "namespaces");
        json_t *nsrec = objects_get(nsr, NULL, c->ns);
        if (!nsrec) {
            status_not_found(c->res, nsr, c->ns);
            return -1;
        }
        if (gc_deleting(json_object_get(nsrec, "object"))) {
            json_t *d = json_pack("{s:s}", "name", name);
            if (c->r->group[0])
                json_object_set_new(d, "group", json_string(c->r->group));
            json_object_set_new(d, "kind", json_string(c->r->plural));
            json_object_set_new(d, "causes",
                                json_pack("[{s:s, s:s, s:s}]", "reason", "NamespaceTerminating",
                                          "message", "namespace is being terminated", "field",
                                          "metadata.namespace"));
            status_reply(c->res, 403, "Forbidden", d,
                         "%s \"%s\" is forbidden: unable to create new content in namespace %s "
                         "because it is being terminated",
                         resources_qualified(c->r), name, c->ns);
            return -1;
        }
    }
    return 0;
}

/* 1 if b's keys and values equal a's, the keys in skip aside. */
static int verbs_equal_but(const json_t *a, const json_t *b, const char *const *skip, size_t n)
{
    const char *k;
    json_t *v;
    size_t seen = 0, skipped_a = 0;
    for (size_t i = 0; i < n; i++)
        skipped_a += json_object_get(a, skip[i]) != NULL;
    json_object_foreach((json_t *)b, k, v)
    {
        size_t i;
        for (i = 0; i < n && strcmp(k, skip[i]) != 0; i++)
            ;
        if (i < n)
            continue;
        if (!json_equal(json_object_get(a, k), v))
            return 0;
        seen++;
    }
    return seen == json_object_size(a) - skipped_a;
}

/* 1 if two versions of an object are the same but for the fields that
 * change on every write. */
static int verbs_same_object(const json_t *a, const json_t *b)
{
    static const char *const top[] = {"apiVersion", "metadata"};
    static const char *const meta[] = {"resourceVersion", "managedFields"};
    return verbs_equal_but(a, b, top, 2) &&
           verbs_equal_but(json_object_get(a, "metadata"), json_object_get(b, "metadata"), meta, 2);
}

static void verbs_uuid(char out[37])
{
    unsigned char b[16];
    char hex[33];
    util_random(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    util_hex(hex, b, sizeof(b));
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* Before a write's managers are worked out: identity from the old object
 * (old_obj NULL: a new uid and creationTimestamp) and, for the main
 * resource, the kind's defaults, so that a create's manager owns the
 * defaults it got and later writes see them as unchanged. */
static void verbs_prepare(struct verbs_call *c, const json_t *old_obj, json_t *obj)
{
    json_t *meta = verbs_meta(obj);
    json_object_del(meta, "managedFields");
    if (old_obj) {
        const json_t *om = json_object_get(old_obj, "metadata");
        json_object_set(meta, "uid", json_object_get(om, "uid"));
        json_object_set(meta, "creationTimestamp", json_object_get(om, "creationTimestamp"));
        if (json_object_get(om, "generation"))
            json_object_set(meta, "generation", json_object_get(om, "generation"));
        else
            json_object_del(meta, "generation");
    } else {
        char uid[37], now[21];
        verbs_uuid(uid);
        time_rfc3339(now);
        json_object_set_new(meta, "uid", json_string(uid));
        json_object_set_new(meta, "creationTimestamp", json_string(now));
        json_object_del(meta, "generation");
    }
    if (!c->sub)
        defaults_apply(c->r, obj);
}

/*
 * Store obj (stolen, prepared by verbs_prepare) with managers (stolen, its
 * managedFields array) as the new state of the object whose previous
 * record is old (NULL: a create), and answer. A write that changes
 * nothing, managers' times aside, stores nothing and keeps the
 * resourceVersion.
 */
static void verbs_commit(struct verbs_call *c, json_t *old, json_t *obj, json_t *managers, int code,
                         int dry_run)
{
    const json_t *old_obj = json_object_get(old, "object");
    json_t *meta = verbs_meta(obj);
    const char *name = json_string_value(json_object_get(meta, "name"));
    char rv[32];

    if (!c->sub)
        defaults_allocate(c->r, old_obj, obj);
    if (defaults_has_generation(c->r)) {
        json_int_t gen = 1;
        if (old_obj) {
            gen = json_integer_value(
                json_object_get(json_object_get(old_obj, "metadata"), "generation"));
            if (gen < 1)
                gen = 1;
            else if (defaults_generation_changed(c->r, old_obj, obj))
                gen++;
        }
        json_object_set_new(meta, "generation", json_integer(gen));
    } else {
        json_object_del(meta, "generation");
    }
    if (!c->sub)
        kinds_status(c->r, obj);
    {
        const char *field = NULL;
        if (gc_check_write(c->r, old_obj, obj, &field) < 0) {
            status_invalid(c->res, c->r, name, field, "FieldValueForbidden", err_last());
            goto out;
        }
    }
    if (old_obj) {
        const json_t *om = json_object_get(old, "managers");
        json_t *none = json_array();
        int same =
            verbs_same_object(old_obj, obj) && apply_managers_equal(om ? om : none, managers);
        json_decref(none);
        if (same) {
            verbs_reply(c, 200, old_obj);
            goto out;
        }
    }
    if (json_array_size(managers) > 0)
        json_object_set(meta, "managedFields", managers); /* shared: neither is changed */
    else
        json_object_del(meta, "managedFields");
    if (dry_run) {
        json_object_set(meta, "resourceVersion",
                        json_object_get(json_object_get(old_obj, "metadata"), "resourceVersion"));
        if (!old_obj)
            json_object_del(meta, "resourceVersion");
        verbs_reply(c, code, obj);
        goto out;
    }
    if (!c->r->crd && strcmp(c->r->kind, "CustomResourceDefinition") == 0) {
        if (resources_crd_put(obj) < 0) {
            status_invalid(c->res, c->r, name, "spec", "FieldValueInvalid", err_last());
            goto out;
        }
    }
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_next_rv());
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    if (old_obj && gc_deleting(old_obj)) {
        /* An update of an object being deleted: its last finalizer may
         * have gone, and with it what others wait for. */
        if (!gc_finalized(c->r, obj))
            objects_put(c->r, c->ns, name,
                        json_pack("{s:O, s:O}", "object", obj, "managers", managers));
        verbs_reply(c, code, obj);
        gc_collect();
        goto out;
    }
    objects_put(c->r, c->ns, name, json_pack("{s:O, s:O}", "object", obj, "managers", managers));
    verbs_reply(c, code, obj);
out:
    json_decref(obj);
    json_decref(managers);
}

/* The field manager of a write: ?fieldManager=, else the user agent's
 * program name as the real server does ("kubectl/v1.35 (...)" -> kubectl:
 * up to the first '/', printable characters, at most 128 bytes). */
static char *verbs_manager(const struct verbs_call *c)
{
    char *m = httpd_query_get(c->req, "fieldManager");
    const char *ua = c->req->user_agent ? c->req->user_agent : "";
    struct buf b = BUF_INIT;
    if (m && m[0])
        return m;
    free(m);
    for (const char *p = ua; *p && *p != '/' && b.len < 128; p++)
        if ((unsigned char)*p >= 0x20 && *p != 0x7f)
            buf_putc(&b, *p);
    return buf_detach(&b);
}

/* Record c's non-apply write from live (NULL: a create) to obj in
 * managers. */
static void verbs_record_update(const struct verbs_call *c, json_t *managers, const json_t *live,
                                const json_t *obj)
{
    char *manager = verbs_manager(c);
    char *av = verbs_api_version(c->r);
    char now[21];
    time_rfc3339(now);
    apply_record_update(managers, c->r, live, obj, manager, av, c->sub, now);
    free(av);
    free(manager);
}

/* The managers a write by a client starts from (see apply_managers_from). */
static json_t *verbs_managers_for(const json_t *written, const json_t *rec)
{
    return apply_managers_from(written, json_object_get(rec, "managers"));
}

void verbs_get(struct verbs_call *c)
{
    json_t *rec = objects_get(c->r, c->ns, c->name);
    if (!rec) {
        status_not_found(c->res, c->r, c->name);
        return;
    }
    if (table_wanted(c->req))
        verbs_reply_table(c, json_object_get(rec, "object"), NULL);
    else
        verbs_reply(c, 200, json_object_get(rec, "object"));
}

static int verbs_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Continue tokens as the real server makes them: unpadded URL-safe
 * base64 of {"v":"meta.k8s.io/v1","rv":N,"start":KEY}, where KEY is the
 * store key ("ns/name") of the last object sent and rv -1 means "go on at
 * the latest state". */
static char *verbs_continue_encode(long long rv, const char *start)
{
    json_t *tok =
        json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start", start);
    char *text = json_dumps(tok, JSON_COMPACT);
    size_t len = strlen(text), olen = 0;
    char *out;
    mbedtls_base64_encode(NULL, 0, &olen, (const unsigned char *)text, len);
    out = xmalloc(olen + 1);
    mbedtls_base64_encode((unsigned char *)out, olen + 1, &olen, (const unsigned char *)text, len);
    out[olen] = '\0';
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    free(text);
    json_decref(tok);
    return out;
}

/* 0 with *rv and *start (new) or -1 with the reason in *why (static). */
static int verbs_continue_decode(const char *token, long long *rv, char **start, const char **why)
{
    size_t len = strlen(token), olen = 0;
    char *b64 = xmalloc(len + 4);
    unsigned char *raw = xmalloc(len + 1);
    json_t *tok = NULL;
    int rc = -1;
    for (size_t i = 0; i < len; i++)
        b64[i] = token[i] == '-' ? '+' : token[i] == '_' ? '/' : token[i];
    while (len % 4)
        b64[len++] = '=';
    b64[len] = '\0';
    *why = "continue key is not valid: illegal base64 data";
    if (mbedtls_base64_decode(raw, len + 1, &olen, (const unsigned char *)b64, len) != 0)
        goto out;
    *why = "continue key is not valid: invalid JSON";
    if (!(tok = json_loadb((const char *)raw, olen, 0, NULL)))
        goto out;
    *why = "continue key is not valid: incorrect encoded start resourceVersion (version "
           "meta.k8s.io/v1)";
    if (!json_is_string(json_object_get(tok, "v")) ||
        strcmp(json_string_value(json_object_get(tok, "v")), "meta.k8s.io/v1") != 0 ||
        !json_is_integer(json_object_get(tok, "rv")) ||
        !json_is_string(json_object_get(tok, "start")))
        goto out;
    *rv = json_integer_value(json_object_get(tok, "rv"));
    if (*rv == 0 || *rv < -1)
        goto out;
    *start = xstrdup(json_string_value(json_object_get(tok, "start")));
    rc = 0;
out:
    json_decref(tok);
    free(b64);
    free(raw);
    return rc;
}

void verbs_list(struct verbs_call *c)
{
    char *ls = httpd_query_get(c->req, "labelSelector");
    char *fs = httpd_query_get(c->req, "fieldSelector");
    char *limit_s = httpd_query_get(c->req, "limit");
    char *cont = httpd_query_get(c->req, "continue");
    char *rv_s = httpd_query_get(c->req, "resourceVersion");
    char *match = httpd_query_get(c->req, "resourceVersionMatch");
    char *start = NULL, *next = NULL;
    selector *lsel = NULL, *fsel = NULL;
    json_t *recs = NULL, *items = json_array(), *out, *meta;
    char *av = verbs_api_version(c->r), *list_kind = xasprintf("%sList", c->r->kind), *text;
    char rv[32];
    size_t i, sent = 0, remaining = 0;
    uint64_t limit = 0, list_rv = objects_rv(), want_rv;
    long long cont_rv = 0;
    json_t *rec;

    if (selector_parse(&lsel, ls) < 0 || selector_parse_fields(&fsel, fs) < 0 ||
        selector_check_fields(c->r, fsel) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
        goto out;
    }
    if (limit_s && limit_s[0] && (limit_s[0] == '-' ? 0 : verbs_parse_u64(limit_s, &limit) < 0)) {
        status_reply(c->res, 400, "BadRequest", NULL,
                     "limit: Invalid value: \"%s\": must be an integer", limit_s);
        goto out;
    }
    if (cont && cont[0]) {
        const char *why;
        if (rv_s && rv_s[0] && strcmp(rv_s, "0") != 0) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "specifying resource version is not allowed when using continue");
            goto out;
        }
        if (verbs_continue_decode(cont, &cont_rv, &start, &why) < 0) {
            status_reply(c->res, 400, "BadRequest", NULL, "invalid continue token: %s", why);
            goto out;
        }
        if (cont_rv > 0 && !watch_covers((uint64_t)cont_rv, NULL)) {
            /* The real server's answer once etcd has compacted the
             * revision: a token to go on inconsistently at the latest. */
            char *fresh = verbs_continue_encode(-1, start);
            status_reply(c->res, 410, "Expired", NULL,
                         "The provided continue parameter is too old to display a consistent "
                         "list result. You can start a new list without the continue "
                         "parameter, or use the continue token in this response to retrieve "
                         "the remainder of the results. Continuing with the provided token "
                         "results in an inconsistent list - objects that were created, "
                         "modified, or deleted between the time the first chunk was returned "
                         "and now may show up in the list.");
            /* status_reply wrote the body; add the token to its metadata. */
            {
                json_t *st = json_loadb(c->res->body.ptr, c->res->body.len, 0, NULL);
                json_object_set_new(json_object_get(st, "metadata"), "continue",
                                    json_string(fresh));
                text = json_dumps(st, JSON_COMPACT);
                buf_clear(&c->res->body);
                buf_puts(&c->res->body, text);
                buf_putc(&c->res->body, '\n');
                free(text);
                json_decref(st);
            }
            free(fresh);
            goto out;
        }
        if (cont_rv > 0)
            list_rv = (uint64_t)cont_rv;
    } else if (rv_s && rv_s[0] && strcmp(rv_s, "0") != 0) {
        if (verbs_parse_u64(rv_s, &want_rv) < 0) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "resourceVersion: Invalid value: \"%s\": must be a non-negative integer",
                         rv_s);
            goto out;
        }
        if (want_rv > list_rv) {
            status_reply(c->res, 504, "Timeout",
                         json_pack("{s:[{s:s, s:s}], s:i}", "causes", "reason",
                                   "ResourceVersionTooLarge", "message",
                                   "Too large resource version", "retryAfterSeconds", 1),
                         "Too large resource version: %llu, current: %llu",
                         (unsigned long long)want_rv, (unsigned long long)list_rv);
            goto out;
        }
        if (match && strcmp(match, "Exact") == 0 && want_rv != list_rv) {
            /* kubesim keeps no old states, only events: it can answer
             * for an old resourceVersion only while nothing of the kind
             * has changed since. */
            if (watch_changed_since(c->r, want_rv)) {
                status_reply(c->res, 410, "Expired", NULL,
                             "The resourceVersion for the provided list is too old.");
                goto out;
            }
            list_rv = want_rv;
        }
    }
    recs = objects_list(c->r, c->ns);
    json_array_foreach(recs, i, rec)
    {
        json_t *obj = json_object_get(rec, "object");
        json_t *m = json_object_get(obj, "metadata");
        const char *ns = json_string_value(json_object_get(m, "namespace"));
        char *key = xasprintf("%s/%s", ns && c->r->namespaced ? ns : "",
                              json_string_value(json_object_get(m, "name")));
        json_t *fields;
        int skip = start && strcmp(key, start) <= 0;
        if (skip) {
            free(key);
            continue;
        }
        fields = selector_fields(c->r, obj);
        if (selector_match(lsel, json_object_get(m, "labels")) && selector_match(fsel, fields)) {
            if (limit && sent == limit) {
                remaining++;
            } else {
                json_t *item = json_deep_copy(obj);
                json_object_set_new(item, "apiVersion", json_string(av));
                json_object_set_new(item, "kind", json_string(c->r->kind));
                json_array_append_new(items, item);
                sent++;
                free(next);
                next = xstrdup(key);
            }
        }
        json_decref(fields);
        free(key);
    }
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)list_rv);
    meta = json_pack("{s:s}", "resourceVersion", rv);
    if (remaining) {
        char *tok = verbs_continue_encode(cont_rv < 0 ? -1 : (long long)list_rv, next);
        json_object_set_new(meta, "continue", json_string(tok));
        free(tok);
        /* As the real server: a count only when no selector filters. */
        if ((!ls || !ls[0]) && (!fs || !fs[0]))
            json_object_set_new(meta, "remainingItemCount", json_integer((json_int_t)remaining));
    }
    if (table_wanted(c->req)) {
        verbs_reply_table(c, items, meta);
        json_decref(meta);
        goto out;
    }
    out = json_pack("{s:s, s:s, s:o, s:O}", "kind", list_kind, "apiVersion", av, "metadata", meta,
                    "items", items);
    text = json_dumps(out, JSON_COMPACT);
    c->res->status = 200;
    buf_puts(&c->res->body, text);
    buf_putc(&c->res->body, '\n');
    free(text);
    json_decref(out);
out:
    json_decref(recs);
    json_decref(items);
    selector_free(lsel);
    selector_free(fsel);
    free(ls);
    free(fs);
    free(limit_s);
    free(cont);
    free(rv_s);
    free(match);
    free(start);
    free(next);
    free(av);
    free(list_kind);
}

void verbs_create(struct verbs_call *c)
{
    json_t *obj = verbs_body(c), *meta, *managers;
    const char *name, *gen_name;
    if (!obj)
        return;
    if (verbs_check_body(c, obj, 0) < 0) {
        json_decref(obj);
        return;
    }
    meta = verbs_meta(obj);
    name = json_string_value(json_object_get(meta, "name"));
    gen_name = json_string_value(json_object_get(meta, "generateName"));
    if ((!name || !name[0]) && gen_name) {
        /* Five characters from the alphabet the real server uses. */
        static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
        unsigned char rnd[5];
        char suffix[6];
        char *full;
        util_random(rnd, sizeof(rnd));
        for (int i = 0; i < 5; i++)
            suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
        suffix[5] = '\0';
        full = xasprintf("%s%s", gen_name, suffix);
        json_object_set_new(meta, "name", json_string(full));
        free(full);
        name = json_string_value(json_object_get(meta, "name"));
    }
    if (verbs_check_new(c, obj) < 0) {
        json_decref(obj);
        return;
    }
    if (objects_get(c->r, c->ns, name)) {
        status_already_exists(c->res, c->r, name);
        json_decref(obj);
        return;
    }
    if (c->r->has_status)
        json_object_del(obj, "status");
    c->name = name;
    managers = verbs_managers_for(obj, NULL);
    verbs_prepare(c, NULL, obj);
    verbs_record_update(c, managers, NULL, obj);
    verbs_commit(c, NULL, obj, managers, 201, verbs_query_is(c, "dryRun", "All"));
}

static int verbs_precondition(struct verbs_call *c, const json_t *body, const json_t *live)
{
    const char *want = verbs_meta_str(body, "resourceVersion");
    const char *have = verbs_meta_str(live, "resourceVersion");
    if (want && want[0] && (!have || strcmp(want, have) != 0)) {
        status_conflict(c->res, c->r, c->name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again");
        return -1;
    }
    return 0;
}

/* Main-resource writes never change the status of kinds whose status is
 * a subresource: obj gets live's back. */
static void verbs_keep_status(const struct verbs_call *c, json_t *obj, const json_t *live)
{
    if (!c->r->has_status)
        return;
    if (json_object_get(live, "status"))
        json_object_set(obj, "status", json_object_get(live, "status"));
    else
        json_object_del(obj, "status");
}

void verbs_update(struct verbs_call *c)
{
    json_t *rec = objects_get(c->r, c->ns, c->name);
    json_t *live = json_object_get(rec, "object");
    json_t *obj, *managers;
    if (!rec) {
        status_not_found(c->res, c->r, c->name);
        return;
    }
    if (!(obj = verbs_body(c)))
        return;
    if (verbs_check_body(c, obj, 0) < 0 || verbs_precondition(c, obj, live) < 0) {
        json_decref(obj);
        return;
    }
    if (c->sub) {
        /* PUT .../status replaces the status and nothing else. */
        json_t *next = json_deep_copy(live);
        json_t *st = json_object_get(obj, "status");
        if (st)
            json_object_set(next, "status", st);
        else
            json_object_del(next, "status");
        json_decref(obj);
        obj = next;
    } else {
        verbs_keep_status(c, obj, live);
    }
    managers = verbs_managers_for(c->sub ? live : obj, rec);
    verbs_prepare(c, live, obj);
    verbs_record_update(c, managers, live, obj);
    verbs_commit(c, rec, obj, managers, 200, verbs_query_is(c, "dryRun", "All"));
}

static void verbs_apply(struct verbs_call *c, json_t *rec, json_t *body)
{
    char *manager = httpd_query_get(c->req, "fieldManager");
    int dry_run = verbs_query_is(c, "dryRun", "All");
    json_t *live = json_object_get(rec, "object");
    json_t *next = NULL, *managers = NULL, *causes = NULL;
    char *av = verbs_api_version(c->r);
    char now[21];

    time_rfc3339(now);
    if (!manager || !manager[0]) {
        status_reply(c->res, 400, "BadRequest", NULL,
                     "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                     "required for apply patch");
        goto out;
    }
    if (verbs_check_body(c, body, 1) < 0)
        goto out;
    if (json_array_size(json_object_get(json_object_get(body, "metadata"), "managedFields"))) {
        status_reply(c->res, 400, "BadRequest", NULL, "metadata.managedFields must be nil");
        goto out;
    }
    if (c->sub) {
        /* Apply to .../status: the same machinery on views holding only
         * the status, among the managers of the status. */
        struct resource view_r = *c->r;
        json_t *lv = json_pack("{s:O?}", "status", json_object_get(live, "status"));
        json_t *cv = json_pack("{s:O?}", "status", json_object_get(body, "status"));
        json_t *nv = NULL;
        int rc;
        view_r.has_status = 0;
        rc = apply_server_side(&nv, &managers, &causes, &view_r, lv,
                               json_object_get(rec, "managers"), cv, manager, av, c->sub,
                               verbs_query_is(c, "force", "true"), now);
        json_decref(lv);
        json_decref(cv);
        if (rc < 0) {
            status_reply(c->res, 409, "Conflict", json_pack("{s:o}", "causes", causes), "%s",
                         err_last());
            causes = NULL;
            goto out;
        }
        next = json_deep_copy(live);
        if (json_object_get(nv, "status"))
            json_object_set(next, "status", json_object_get(nv, "status"));
        else
            json_object_del(next, "status");
        json_decref(nv);
        verbs_prepare(c, live, next);
        verbs_commit(c, rec, next, managers, 200, dry_run);
        next = managers = NULL;
        goto out;
    }
    if (!rec && verbs_check_new(c, body) < 0)
        goto out;
    if (apply_server_side(&next, &managers, &causes, c->r, live, json_object_get(rec, "managers"),
                          body, manager, av, NULL, verbs_query_is(c, "force", "true"), now) < 0) {
        status_reply(c->res, 409, "Conflict", json_pack("{s:o}", "causes", causes), "%s",
                     err_last());
        causes = NULL;
        goto out;
    }
    verbs_prepare(c, live, next);
    verbs_commit(c, rec, next, managers, rec ? 200 : 201, dry_run);
    next = managers = NULL;
out:
    json_decref(causes);
    json_decref(managers);
    json_decref(next);
    free(manager);
    free(av);
}

/* The result of a JSON patch (RFC 6902) of live, or NULL with the Status
 * set: 400 for a body that is no JSON patch, 422 when an operation does
 * not apply, as the real server answers. */
static json_t *verbs_json_patch(struct verbs_call *c, const json_t *live)
{
    json_error_t jerr;
    json_t *patch = json_loadb(c->req->body, c->req->body_len, JSON_DECODE_ANY, &jerr);
    json_t *next = NULL;
    char *av;
    if (!patch) {
        status_reply(c->res, 400, "BadRequest", NULL, "invalid character in JSON patch: %s",
                     jerr.text);
        return NULL;
    }
    if (!doc_patch_json_well_formed(patch)) {
        status_reply(c->res, 400, "BadRequest", NULL,
                     "json: cannot unmarshal %s into Go value of type jsonpatch.Patch",
                     json_is_object(patch) ? "object" : "non-array value");
        json_decref(patch);
        return NULL;
    }
    /* The patch sees the object in the version of the URL. */
    next = json_deep_copy(live);
    av = verbs_api_version(c->r);
    json_object_set_new(next, "apiVersion", json_string(av));
    json_object_set_new(next, "kind", json_string(c->r->kind));
    free(av);
    if (doc_patch_json(&next, patch) < 0 || !json_is_object(next)) {
        status_reply(c->res, 422, "Invalid",
                     json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "UnexpectedServerResponse",
                               "message",
                               json_is_object(next) ? err_last()
                                                    : "the patched document is not "
                                                      "an object"),
                     "the server rejected our request due to an error in our request");
        json_decref(next);
        next = NULL;
    }
    json_decref(patch);
    return next;
}

void verbs_patch(struct verbs_call *c)
{
    const char *ct = c->req->content_type ? c->req->content_type : "";
    json_t *rec = objects_get(c->r, c->ns, c->name);
    json_t *live = json_object_get(rec, "object");
    json_t *patch, *next, *managers;
    int apply = str_has_prefix(ct, "application/apply-patch");
    int strategic = str_has_prefix(ct, "application/strategic-merge-patch+json");
    int json_patch = str_has_prefix(ct, "application/json-patch+json");

    if (!apply && !strategic && !json_patch &&
        !str_has_prefix(ct, "application/merge-patch+json")) {
        status_reply(c->res, 415, "UnsupportedMediaType", NULL,
                     "the body of the request was in an unknown format - accepted media types "
                     "include: application/json-patch+json, application/merge-patch+json, "
                     "application/apply-patch+yaml, application/strategic-merge-patch+json");
        return;
    }
    if (!rec && !apply) {
        status_not_found(c->res, c->r, c->name);
        return;
    }
    if (json_patch) {
        json_t *patched = verbs_json_patch(c, live);
        if (!patched)
            return;
        if (verbs_precondition(c, patched, live) < 0) {
            json_decref(patched);
            return;
        }
        if (c->sub) {
            /* Only the status of the result counts. */
            next = json_deep_copy(live);
            if (json_object_get(patched, "status"))
                json_object_set(next, "status", json_object_get(patched, "status"));
            else
                json_object_del(next, "status");
            json_decref(patched);
        } else {
            next = patched;
            if (c->r->has_status) {
                if (json_object_get(live, "status"))
                    json_object_set(next, "status", json_object_get(live, "status"));
                else
                    json_object_del(next, "status");
            }
        }
        goto commit;
    }
    if (!(patch = verbs_body(c)))
        return;
    if (apply) {
        if (!rec && c->sub)
            status_not_found(c->res, c->r, c->name);
        else
            verbs_apply(c, rec, patch);
        json_decref(patch);
        return;
    }
    if (verbs_precondition(c, patch, live) < 0) {
        json_decref(patch);
        return;
    }
    next = json_deep_copy(live);
    if (c->sub) {
        json_t *p = json_pack("{s:O?}", "status", json_object_get(patch, "status"));
        apply_merge_patch(next, p);
        json_decref(p);
    } else {
        if (strategic) {
            if (apply_strategic_patch(c->r, next, patch) < 0) {
                status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
                json_decref(patch);
                json_decref(next);
                return;
            }
        } else {
            apply_merge_patch(next, patch);
        }
        verbs_keep_status(c, next, live);
    }
    json_decref(patch);
commit:
    if (verbs_check_body(c, next, 0) < 0) {
        json_decref(next);
        return;
    }
    managers = verbs_managers_for(c->sub ? live : next, rec);
    verbs_prepare(c, live, next);
    verbs_record_update(c, managers, live, next);
    verbs_commit(c, rec, next, managers, 200, verbs_query_is(c, "dryRun", "All"));
}

/* DeleteOptions from the body (if any) and the query: the propagation
 * policy, dry run and preconditions (borrowed into *pre, valid while
 * *opts lives). 0, or -1 with the Status set. */
static int verbs_delete_options(struct verbs_call *c, json_t **opts, enum gc_policy *policy,
                                int *dry_run)
{
    char *q = httpd_query_get(c->req, "propagationPolicy");
    const char *p = NULL;
    const json_t *dr, *orphan;
    *policy = GC_BACKGROUND;
    *opts = NULL;
    *dry_run = verbs_query_is(c, "dryRun", "All");
    if (c->req->body_len > 0) {
        json_error_t jerr;
        *opts = json_loadb(c->req->body, c->req->body_len, 0, &jerr);
        if (!json_is_object(*opts)) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "the body of the request could not be decoded as DeleteOptions: %s",
                         *opts ? "not an object" : jerr.text);
            free(q);
            return -1;
        }
    }
    dr = json_object_get(*opts, "dryRun");
    if (json_is_array(dr) && json_array_size(dr) == 1 && json_is_string(json_array_get(dr, 0)) &&
        strcmp(json_string_value(json_array_get(dr, 0)), "All") == 0)
        *dry_run = 1;
    orphan = json_object_get(*opts, "orphanDependents");
    if (json_is_true(orphan))
        *policy = GC_ORPHAN;
    p = json_string_value(json_object_get(*opts, "propagationPolicy"));
    if (!p && q && q[0])
        p = q;
    if (p && gc_policy_parse(p, policy) < 0) {
        char *detail = xasprintf("Unsupported value: \"%s\": supported values: \"Foreground\", "
                                 "\"Background\", \"Orphan\", \"nil\"",
                                 p);
        status_reply(c->res, 422, "Invalid",
                     json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", "", "group",
                               "meta.k8s.io", "kind", "DeleteOptions", "causes", "reason",
                               "FieldValueNotSupported", "message", detail, "field",
                               "propagationPolicy"),
                     "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: %s", detail);
        free(detail);
        free(q);
        return -1;
    }
    free(q);
    return 0;
}

/* The namespaces every cluster keeps. */
static int verbs_protected(struct verbs_call *c, const char *name)
{
    if (c->r->crd || c->r->group[0] || strcmp(c->r->kind, "Namespace") != 0 ||
        (strcmp(name, "default") != 0 && strcmp(name, "kube-system") != 0 &&
         strcmp(name, "kube-public") != 0))
        return 0;
    status_reply(c->res, 403, "Forbidden",
                 json_pack("{s:s, s:s}", "name", name, "kind", "namespaces"),
                 "namespaces \"%s\" is forbidden: this namespace may not be deleted", name);
    return 1;
}

/* The kinds whose immediate deletion answers with the deleted object
 * rather than a Status (ReturnDeletedObject in the real registries). */
static int verbs_returns_deleted(const struct resource *r)
{
    return !r->crd &&
           ((!r->group[0] &&
             (strcmp(r->plural, "pods") == 0 || strcmp(r->plural, "serviceaccounts") == 0)) ||
            (strcmp(r->group, "storage.k8s.io") == 0 && strcmp(r->plural, "storageclasses") == 0));
}

void verbs_delete(struct verbs_call *c)
{
    json_t *rec = objects_get(c->r, c->ns, c->name);
    const json_t *live = json_object_get(rec, "object");
    json_t *opts = NULL, *shown;
    const json_t *pre;
    enum gc_policy policy;
    int dry_run;
    if (!rec) {
        status_not_found(c->res, c->r, c->name);
        return;
    }
    if (verbs_delete_options(c, &opts, &policy, &dry_run) < 0 || verbs_protected(c, c->name))
        goto out;
    pre = json_object_get(opts, "preconditions");
    {
        const char *uid = json_string_value(json_object_get(pre, "uid"));
        const char *rv = json_string_value(json_object_get(pre, "resourceVersion"));
        const char *have_uid = verbs_meta_str(live, "uid");
        const char *have_rv = verbs_meta_str(live, "resourceVersion");
        if (uid && strcmp(uid, have_uid ? have_uid : "") != 0) {
            char *why = xasprintf("Precondition failed: UID in precondition: %s, UID in object "
                                  "meta: %s",
                                  uid, have_uid ? have_uid : "");
            status_conflict(c->res, c->r, c->name, why);
            free(why);
            goto out;
        }
        if (rv && strcmp(rv, have_rv ? have_rv : "") != 0) {
            char *why = xasprintf("Precondition failed: ResourceVersion in precondition: %s, "
                                  "ResourceVersion in object meta: %s",
                                  rv, have_rv ? have_rv : "");
            status_conflict(c->res, c->r, c->name, why);
            free(why);
            goto out;
        }
    }
    if (dry_run) {
        verbs_reply(c, 200, live);
        goto out;
    }
    shown = gc_delete(c->r, rec, policy);
    if (gc_deleting(shown) || verbs_returns_deleted(c->r)) {
        /* Marked for deletion, or a kind that answers with the object. */
        verbs_reply(c, 200, shown);
    } else {
        status_deleted(c->res, c->r, c->name, verbs_meta_str(shown, "uid"));
    }
    json_decref(shown);
    gc_collect();
out:
    json_decref(opts);
}

void verbs_delete_collection(struct verbs_call *c)
{
    char *ls = httpd_query_get(c->req, "labelSelector");
    char *fs = httpd_query_get(c->req, "fieldSelector");
    selector *sel = NULL, *fsel = NULL;
    json_t *recs = NULL, *rec, *opts = NULL;
    enum gc_policy policy;
    int dry_run;
    size_t i;
    if (selector_parse(&sel, ls) < 0 || selector_parse_fields(&fsel, fs) < 0 ||
        selector_check_fields(c->r, fsel) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
        goto out;
    }
    if (verbs_delete_options(c, &opts, &policy, &dry_run) < 0)
        goto out;
    recs = objects_list(c->r, c->ns);
    json_array_foreach(recs, i, rec)
    {
        const json_t *obj = json_object_get(rec, "object");
        json_t *meta = json_object_get(obj, "metadata");
        json_t *fields = selector_fields(c->r, obj);
        const char *name = json_string_value(json_object_get(meta, "name"));
        json_t *cur;
        if (selector_match(sel, json_object_get(meta, "labels")) && selector_match(fsel, fields) &&
            !dry_run && !verbs_protected(c, name) &&
            (cur = objects_get(c->r, json_string_value(json_object_get(meta, "namespace")),
                               name)) != NULL)
            json_decref(gc_delete(c->r, cur, policy));
        json_decref(fields);
    }
    if (!dry_run)
        gc_collect();
    buf_clear(&c->res->body);
    status_success(c->res, c->r, "");
out:
    json_decref(recs);
    json_decref(opts);
    selector_free(sel);
    selector_free(fsel);
    free(ls);
    free(fs);
}

void verbs_bootstrap_namespace(const char *name)
{
    struct httpd_request req;
    struct httpd_response res = {.status = 200};
    struct verbs_call c;
    json_t *managers;
    json_t *obj =
        json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                  "metadata", "name", name, "labels", "kubernetes.io/metadata.name", name);
    memset(&req, 0, sizeof(req));
    req.query = "";
    req.user_agent = "kube-apiserver";
    c.req = &req;
    c.res = &res;
    c.r = resources_find("", "v1", "namespaces");
    c.ns = NULL;
    c.name = name;
    c.sub = NULL;
    managers = json_array();
    verbs_prepare(&c, NULL, obj);
    verbs_record_update(&c, managers, NULL, obj);
    verbs_commit(&c, NULL, obj, managers, 201, 0);
    buf_dispose(&res.body);
}
