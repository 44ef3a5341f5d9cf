/*
 * Every write goes through verbs_prepare (identity and defaults), then
 * apply.c for who owns what (managedFields), then verbs_commit, which
 * decides what clients watch most closely: whether anything changed at
 * all (if not, resourceVersion and managedFields times stay, so a client
 * that re-applies the same config every poll sees no churn) and whether
 * the generation moves (only when the spec changed; see defaults.h).
 */
#include "verbs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apply.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/util.h"
#include "defaults.h"
#include "kinds.h"
#include "objects.h"
#include "selector.h"
#include "status.h"
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
        if (!objects_get(nsr, NULL, c->ns)) {
            status_not_found(c->res, nsr, c->ns);
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

static void verbs_drop_objects(const struct resource *r, void *ctx)
{
    (void)ctx;
    objects_drop_resource(r);
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
    verbs_reply(c, 200, json_object_get(rec, "object"));
}

void verbs_list(struct verbs_call *c)
{
    char *ls = httpd_query_get(c->req, "labelSelector");
    char *fs = httpd_query_get(c->req, "fieldSelector");
    selector *lsel = NULL, *fsel = NULL;
    json_t *recs = NULL, *items = json_array(), *out;
    const char *key;
    char *av = verbs_api_version(c->r), *list_kind = xasprintf("%sList", c->r->kind), *text;
    char rv[32];
    size_t i;
    json_t *rec;

    if (selector_parse(&lsel, ls) < 0 || selector_parse(&fsel, fs) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
        goto out;
    }
    for (i = 0; (key = selector_key(fsel, i)) != NULL; i++) {
        if (strcmp(key, "metadata.name") != 0 && strcmp(key, "metadata.namespace") != 0) {
            status_reply(c->res, 400, "BadRequest", NULL,
                         "\"%s\" is not a known field selector: only \"metadata.name\", "
                         "\"metadata.namespace\"",
                         key);
            goto out;
        }
    }
    recs = objects_list(c->r, c->ns);
    json_array_foreach(recs, i, rec)
    {
        json_t *obj = json_object_get(rec, "object");
        json_t *meta = json_object_get(obj, "metadata");
        json_t *fields = json_pack("{s:O}", "metadata.name", json_object_get(meta, "name"));
        json_t *item;
        if (json_object_get(meta, "namespace"))
            json_object_set(fields, "metadata.namespace", json_object_get(meta, "namespace"));
        else
            json_object_set_new(fields, "metadata.namespace", json_string(""));
        if (selector_match(lsel, json_object_get(meta, "labels")) && selector_match(fsel, fields)) {
            item = json_deep_copy(obj);
            json_object_set_new(item, "apiVersion", json_string(av));
            json_object_set_new(item, "kind", json_string(c->r->kind));
            json_array_append_new(items, item);
        }
        json_decref(fields);
    }
    snprintf(rv, sizeof(rv), "%llu", (unsigned long long)objects_rv());
    out = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", list_kind, "apiVersion", av, "metadata",
                    "resourceVersion", rv, "items", items);
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
    if (json_patch) {
        /* Applied to the whole object, then held to what the endpoint may
         * change like the other patch types. */
        if (apply_json_patch(next, patch) < 0) {
            status_reply(c->res, 422, "Invalid", NULL, "%s", err_last());
            json_decref(patch);
            json_decref(next);
            return;
        }
        if (c->sub) {
            json_t *st = json_incref(json_object_get(next, "status"));
            json_decref(next);
            next = json_deep_copy(live);
            if (st)
                json_object_set_new(next, "status", st);
            else
                json_object_del(next, "status");
        } else {
            verbs_keep_status(c, next, live);
        }
    } else if (c->sub) {
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
    if (verbs_check_body(c, next, 0) < 0) {
        json_decref(next);
        return;
    }
    managers = verbs_managers_for(c->sub ? live : next, rec);
    verbs_prepare(c, live, next);
    verbs_record_update(c, managers, live, next);
    verbs_commit(c, rec, next, managers, 200, verbs_query_is(c, "dryRun", "All"));
}

static int verbs_remove(struct verbs_call *c, const char *name, int dry_run)
{
    if (!c->r->crd && !c->r->group[0] && strcmp(c->r->kind, "Namespace") == 0) {
        if (strcmp(name, "default") == 0 || strcmp(name, "kube-system") == 0 ||
            strcmp(name, "kube-public") == 0) {
            status_reply(c->res, 403, "Forbidden",
                         json_pack("{s:s, s:s}", "name", name, "kind", "namespaces"),
                         "namespaces \"%s\" is forbidden: this namespace may not be deleted", name);
            return -1;
        }
        if (!dry_run)
            objects_drop_namespace(name);
    }
    if (!dry_run && !c->r->crd && strcmp(c->r->kind, "CustomResourceDefinition") == 0)
        resources_crd_remove(name, verbs_drop_objects, NULL);
    if (!dry_run)
        objects_remove(c->r, c->ns, name);
    return 0;
}

void verbs_delete(struct verbs_call *c)
{
    json_t *rec = objects_get(c->r, c->ns, c->name);
    json_t *obj;
    if (!rec) {
        status_not_found(c->res, c->r, c->name);
        return;
    }
    obj = json_incref(json_object_get(rec, "object"));
    if (verbs_remove(c, c->name, verbs_query_is(c, "dryRun", "All")) == 0)
        verbs_reply(c, 200, obj);
    json_decref(obj);
}

void verbs_delete_collection(struct verbs_call *c)
{
    char *ls = httpd_query_get(c->req, "labelSelector");
    selector *sel = NULL;
    json_t *recs, *rec;
    size_t i;
    if (selector_parse(&sel, ls) < 0) {
        status_reply(c->res, 400, "BadRequest", NULL, "%s", err_last());
        free(ls);
        return;
    }
    recs = objects_list(c->r, c->ns);
    json_array_foreach(recs, i, rec)
    {
        json_t *meta = json_object_get(json_object_get(rec, "object"), "metadata");
        if (selector_match(sel, json_object_get(meta, "labels"))) {
            const char *saved = c->ns;
            c->ns = json_string_value(json_object_get(meta, "namespace"));
            verbs_remove(c, json_string_value(json_object_get(meta, "name")),
                         verbs_query_is(c, "dryRun", "All"));
            c->ns = saved;
        }
    }
    json_decref(recs);
    selector_free(sel);
    free(ls);
    buf_clear(&c->res->body);
    status_success(c->res, c->r, "");
}

void verbs_bootstrap_namespace(const char *name)
{
    struct httpd_request req;
    struct httpd_response res = {200, NULL, BUF_INIT};
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
