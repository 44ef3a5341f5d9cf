/*
 * Restore (see restore.h for the phases and the passes). The record is
 * the only state: it is rewritten whole at each phase change, so what
 * `restore describe` shows is what the last transition wrote. Its
 * per-object results, which grow with the restore, are never held: each
 * is appended to a temporary file as it comes, and every write of the
 * record streams them from there as its last key.
 */
#include "backup/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/filter.h"
#include "backup/location.h"
#include "backup/prepare.h"
#include "backup/spill.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define RESTORE_MAX_RECORD (256u << 20)
#define RESTORE_CRD_WAIT_MS 60000
#define RESTORE_FIELD_MANAGER "edgecd-restore"
/* Messages about objects listed per restore in each of results.warnings
 * and .errors; status counts them all, and each object's own result
 * keeps its message. */
#define RESTORE_MAX_MESSAGES 1000
/* Where the record's per-object results begin (they are written last). */
#define RESTORE_RESULTS_MARK "\n  \"results\": "
/* The most read of a record before its results, to check an earlier run. */
#define RESTORE_MAX_RECORD_HEAD (16u << 20)

/* The spec's filter fields, as filter.h reads them. */
static const char *const restore_filter_fields[] = {
    "includedNamespaces",      "excludedNamespaces", "includedResources", "excludedResources",
    "includeClusterResources", "labelSelector",      "orLabelSelectors",
};

/* A namespace name: a DNS-1123 label. */
static int restore_dns_label(const char *s)
{
    return s && strlen(s) <= 63 && !strchr(s, '.') && str_dns_subdomain(s);
}

int restore_spec_check(json_t *spec)
{
    json_t *fspec, *map, *v, *rs;
    const char *key, *policy;
    int rc;

    if (!json_is_object(spec))
        return err_set(ERR_INVALID, "spec: not an object");
    if (!json_string_value(json_object_get(spec, "backupName")))
        return err_set(ERR_INVALID, "spec.backupName: missing");
    fspec = json_object();
    for (size_t i = 0; i < sizeof(restore_filter_fields) / sizeof(restore_filter_fields[0]); i++)
        if ((v = json_object_get(spec, restore_filter_fields[i])) != NULL)
            json_object_set(fspec, restore_filter_fields[i], v);
    rc = filter_spec_check(fspec);
    if (rc == 0) /* the defaults, back into the spec (not ttl: a restore has none) */
        for (size_t i = 0; i < sizeof(restore_filter_fields) / sizeof(restore_filter_fields[0]);
             i++)
            if ((v = json_object_get(fspec, restore_filter_fields[i])) != NULL)
                json_object_set(spec, restore_filter_fields[i], v);
    json_decref(fspec);
    if (rc < 0)
        return rc;
    map = json_object_get(spec, "namespaceMapping");
    if (!map || json_is_null(map))
        json_object_set_new(spec, "namespaceMapping", map = json_object());
    if (!json_is_object(map))
        return err_set(ERR_INVALID, "spec.namespaceMapping: not an object");
    json_object_foreach(map, key, v)
    {
        if (!restore_dns_label(key) || !json_string_value(v) ||
            !restore_dns_label(json_string_value(v)))
            return err_set(ERR_INVALID,
                           "spec.namespaceMapping.%s: source and target must be namespace names "
                           "(lower-case letters, digits and '-', at most 63 characters)",
                           key);
    }
    v = json_object_get(spec, "existingResourcePolicy");
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]))
        json_object_set_new(spec, "existingResourcePolicy", json_string("none"));
    policy = json_string_value(json_object_get(spec, "existingResourcePolicy"));
    if (!policy || (strcmp(policy, "none") != 0 && strcmp(policy, "update") != 0))
        return err_set(ERR_INVALID, "spec.existingResourcePolicy: none or update");
    rs = json_object_get(spec, "restoreStatus");
    if (rs && !json_is_null(rs)) {
        const char *only =
            json_string_value(json_array_get(json_object_get(rs, "includedResources"), 0));
        if (!json_is_object(rs) || json_array_size(json_object_get(rs, "includedResources")) != 1 ||
            !only || strcmp(only, "*") != 0 ||
            json_array_size(json_object_get(rs, "excludedResources")) > 0)
            return err_set(ERR_INVALID,
                           "spec.restoreStatus: only {includedResources: [\"*\"]} is supported "
                           "(status of every kind, or of none)");
    }
    for (size_t i = 0; i < 2; i++) {
        const char *f = i ? "dryRun" : "preserveNodePorts";
        v = json_object_get(spec, f);
        if (!v || json_is_null(v))
            json_object_set_new(spec, f, json_false());
        else if (!json_is_boolean(v))
            return err_set(ERR_INVALID, "spec.%s: true or false", f);
    }
    return 0;
}

/* ---- records ---- */

static char *restore_record_path(const char *location, const char *name)
{
    return xasprintf("%s/%s/%s.json", location, RESTORE_DIR, name);
}

static int restore_record_read(const char *location, const char *name, json_t **out)
{
    struct buf b = BUF_INIT;
    char *path = restore_record_path(location, name);
    int rc;
    *out = NULL;
    rc = fs_read_file(path, RESTORE_MAX_RECORD, &b);
    if (rc == ERR_NOTFOUND)
        rc = err_set(ERR_NOTFOUND, "restore %s: not found in %s", name, location);
    else if (rc == 0 && (rc = doc_parse_json(out, b.ptr, b.len, path, NULL)) == 0 &&
             !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = err_set(ERR_INVALID, "%s: not a restore record", path);
    }
    buf_dispose(&b);
    free(path);
    return rc;
}

/* A record without its per-object results, which grow with the restore:
 * all a new run needs of an earlier one (its phase). The results are
 * the record's last key (restore_record_write), so the text before them,
 * closed, is the rest of the record; a record laid out otherwise is read
 * whole. */
static int restore_record_read_head(const char *location, const char *name, json_t **out)
{
    struct buf b = BUF_INIT;
    char *path = restore_record_path(location, name), piece[65536], *mark = NULL;
    size_t ml = strlen(RESTORE_RESULTS_MARK);
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? err_set(ERR_NOTFOUND, "restore %s: not found in %s", name, location)
                             : err_set(ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (!mark && b.len < RESTORE_MAX_RECORD_HEAD) {
        size_t from = b.len > ml ? b.len - ml : 0;
        ssize_t k = read(fd, piece, sizeof(piece));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = err_set(ERR_IO, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        buf_put(&b, piece, (size_t)k);
        mark = memmem(b.ptr + from, b.len - from, RESTORE_RESULTS_MARK, ml);
    }
    if (mark) {
        b.len = (size_t)(mark - b.ptr);
        while (b.len > 0 && (b.ptr[b.len - 1] == ',' || b.ptr[b.len - 1] == ' '))
            b.len--;
        buf_puts(&b, "\n}");
        if (doc_parse_json(out, b.ptr, b.len, path, NULL) == 0 && json_is_object(*out))
            goto out;
        json_decref(*out);
        *out = NULL;
        err_clear();
    }
    rc = restore_record_read(location, name, out);
out:
    if (fd >= 0)
        close(fd);
    buf_dispose(&b);
    free(path);
    return rc;
}

/* The location's restore lock: exclusive for a run, probed by readers. */
static int restore_lock(const char *location, int exclusive, int *out_fd)
{
    char *dir = xasprintf("%s/%s", location, RESTORE_DIR), *lock = NULL;
    int rc = 0, fd = -1;
    *out_fd = -1;
    if (exclusive && (rc = fs_mkdir_p(dir, 0700)) < 0)
        goto out;
    lock = xasprintf("%s/.lock", dir);
    fd = open(lock, exclusive ? O_RDWR | O_CREAT | O_CLOEXEC : O_RDONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == ENOENT ? ERR_NOTFOUND : err_set(ERR_IO, "%s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? err_set(ERR_CONFLICT, "%s: another restore is running there", location)
                 : err_set(ERR_IO, "%s: %s", lock, strerror(errno));
        close(fd);
        goto out;
    }
    *out_fd = fd;
out:
    free(dir);
    free(lock);
    return rc;
}

/* An InProgress record nobody is running was cut short. */
static void restore_mark(json_t *rec, int running)
{
    const char *phase = doc_get_str(rec, "status.phase");
    if (!running && phase && strcmp(phase, "InProgress") == 0)
        json_object_set_new(rec, "interrupted", json_true());
}

static int restore_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int restore_list(const char *location, json_t **out)
{
    char *dir = xasprintf("%s/%s", location, RESTORE_DIR), **names = NULL;
    size_t n = 0;
    int fd = -1, running;
    DIR *d;
    struct dirent *de;

    *out = json_array();
    running = restore_lock(location, 0, &fd) == ERR_CONFLICT;
    err_clear();
    if (fd >= 0)
        close(fd);
    d = opendir(dir);
    free(dir);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrndup(de->d_name, len - 5);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), restore_name_cmp);
    for (size_t i = 0; i < n; i++) {
        json_t *rec;
        if (restore_record_read(location, names[i], &rec) < 0)
            rec = json_pack("{s:s, s:{s:s}, s:s}", "kind", "Restore", "metadata", "name", names[i],
                            "problem", err_last());
        else
            restore_mark(rec, running);
        err_clear();
        json_array_append_new(*out, rec);
        free(names[i]);
    }
    free(names);
    return 0;
}

int restore_get(const char *location, const char *name, json_t **out)
{
    int fd = -1, rc, running;
    *out = NULL;
    if (!str_dns_subdomain(name))
        return err_set(ERR_NOTFOUND, "restore %s: not found in %s", name, location);
    running = restore_lock(location, 0, &fd) == ERR_CONFLICT;
    err_clear();
    if (fd >= 0)
        close(fd);
    if ((rc = restore_record_read(location, name, out)) < 0)
        return rc;
    restore_mark(*out, running);
    return 0;
}

/* ---- one run ---- */

/* What the run knows of one uid (restore_run.uids): the objects it
 * restores and the owners they name, keyed by the SHA-256 of the uid, so
 * the index lives in a file and not in memory (spill.h). */
enum {
    RESTORE_UID_SELECTED = 1,   /* an object with this uid is restored */
    RESTORE_UID_REFERENCED = 2, /* an ownerReference names it */
    RESTORE_UID_DEFERRED = 4,   /* it waits for the last pass */
};
struct restore_uid {
    unsigned char key[SPILL_KEY];
    unsigned char flags;
    unsigned char len; /* of now; 0 until the object is in the cluster */
    char now[62];      /* its uid there */
};

static void restore_uid_merge(void *into, const void *from)
{
    ((struct restore_uid *)into)->flags |= ((const struct restore_uid *)from)->flags;
}

/* Messages grouped as Velero groups them. Those about objects (cluster
 * and namespace groups) are kept up to RESTORE_MAX_MESSAGES; the
 * restore's own (a few) always. */
struct restore_msgs {
    json_t *groups;
    size_t n, kept;
};

struct restore_run {
    kube_client *kc;
    const struct restore_options *o;
    const char *records; /* the folder of the record */
    json_t *spec;        /* borrowed: o->spec */
    json_t *rec;         /* the record, without its results */
    const char *policy;
    int dry_run;
    /* the index from the verifying pass */
    spill_table *uids;        /* struct restore_uid */
    size_t owner_refs;        /* ownerReferences of the restored objects */
    archive_list *entries;    /* the verified entry list */
    json_t *crds;             /* [{group, kind, name}] of selected CRDs */
    json_t *apps;             /* edgecd.io/app label values of objects restored as they were */
    char manifest_sha256[65]; /* of the verified manifest's text */
    int ranks[PREPARE_RANK_REST + 1];
    size_t total;
    /* as the run goes */
    size_t deferred;    /* objects waiting for an owner later in the order */
    int last_pass;      /* the pass over the deferred objects */
    json_t *namespaces; /* target namespaces known to exist */
    spill_log *results; /* each object's result: its length, then compact JSON */
    struct buf scratch;
    json_t *counts;
    struct restore_msgs warnings, errors;
    char *io_error; /* the temporary files failed: the run stops */
    size_t done;
    int64_t progress_ms; /* when the record was last written InProgress */
};

/* Velero groups messages: the restore itself, cluster-scoped objects,
 * and per namespace. */
static void restore_msgs_init(struct restore_msgs *m)
{
    m->groups = json_pack("{s:[], s:[], s:{}}", "velero", "cluster", "namespaces");
    m->n = m->kept = 0;
}

static void restore_note(struct restore_msgs *m, const char *ns, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void restore_note(struct restore_msgs *m, const char *ns, const char *fmt, ...)
{
    va_list ap;
    struct buf msg = BUF_INIT;
    json_t *list;
    m->n++;
    if ((!ns || ns[0]) && m->kept >= RESTORE_MAX_MESSAGES)
        return;
    m->kept++;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (!ns) {
        list = json_object_get(m->groups, "cluster");
    } else if (!ns[0]) {
        list = json_object_get(m->groups, "velero");
    } else {
        json_t *by = json_object_get(m->groups, "namespaces");
        list = json_object_get(by, ns);
        if (!list)
            json_object_set_new(by, ns, list = json_array());
    }
    json_array_append_new(list, json_string(buf_cstr(&msg)));
    buf_dispose(&msg);
}

/* The groups as the record shows them: the kept messages, and how many
 * more there were. */
static void restore_msgs_emit(const struct restore_msgs *m, const char *what, struct buf *out)
{
    json_t *g = m->groups;
    if (m->n > m->kept) {
        char *more = xasprintf("%zu more %s not listed here; each object's result in "
                               "results.items has its own message",
                               m->n - m->kept, what);
        g = json_deep_copy(m->groups);
        json_array_append_new(json_object_get(g, "velero"), json_string(more));
        free(more);
    }
    doc_emit_json(out, g, 0);
    if (g != m->groups)
        json_decref(g);
}

/* The temporary files failed (a full disk): keep the first message; the
 * passes stop at the next object. */
static void restore_io_failed(struct restore_run *r)
{
    if (!r->io_error)
        r->io_error = xstrdup(err_last());
    err_clear();
}

static const char *restore_target_ns(const struct restore_run *r, const char *ns)
{
    const char *to =
        json_string_value(json_object_get(json_object_get(r->spec, "namespaceMapping"), ns));
    return to ? to : ns;
}

/* The object's kind as filter.h wants it, from its path and JSON. */
static void restore_resource(const struct archive_entry *e, struct kube_resource *out,
                             char **owned_resource)
{
    const char *dot = strchr(e->where.resource, '.');
    const char *api = json_string_value(json_object_get(e->object, "apiVersion"));
    const char *slash = api ? strchr(api, '/') : NULL;
    memset(out, 0, sizeof(*out));
    *owned_resource = dot ? xstrndup(e->where.resource, (size_t)(dot - e->where.resource))
                          : xstrdup(e->where.resource);
    out->resource = *owned_resource;
    out->group = dot ? dot + 1 : "";
    out->version = slash ? slash + 1 : (api ? api : "");
    out->kind = json_string_value(json_object_get(e->object, "kind"));
    if (!out->kind)
        out->kind = "";
    out->namespaced = e->where.namespace_ != NULL;
    out->listable = 1;
}

/* 1 if the spec's filters take this entry (the classic folder only: the
 * preferred-version folder holds the same objects again). */
static int restore_selected(const struct restore_run *r, const struct archive_entry *e)
{
    struct kube_resource kr;
    char *res;
    const json_t *labels = doc_get(e->object, "metadata.labels"), *ls, * or, *s;
    size_t i;
    int take;

    if (e->where.version)
        return 0;
    restore_resource(e, &kr, &res);
    take = filter_resource(r->spec, &kr, e->where.resource);
    free(res);
    if (take && e->where.namespace_)
        take = filter_namespace(r->spec, e->where.namespace_);
    if (take && !strcmp(e->where.resource, "namespaces"))
        take = filter_namespace(r->spec, e->where.name);
    if (!take)
        return 0;
    ls = json_object_get(r->spec, "labelSelector");
    if (json_is_object(ls) && !filter_selector_match(ls, labels))
        return 0;
    or = json_object_get(r->spec, "orLabelSelectors");
    if (json_array_size(or) > 0) {
        json_array_foreach(or, i, s)
        {
            if (filter_selector_match(s, labels))
                return 1;
        }
        return 0;
    }
    return 1;
}

/* Note a uid in the index (the verifying pass). */
static int restore_uid_add(struct restore_run *r, const char *uid, int flags)
{
    struct restore_uid u;
    memset(&u, 0, sizeof(u));
    util_sha256(uid, strlen(uid), u.key);
    u.flags = (unsigned char)flags;
    return spill_table_add(r->uids, &u);
}

/* What the index holds for uid: 1 with *u filled, 0 when nothing (u
 * zeroed). A failed read stops the run (restore_io_failed) and reads as
 * nothing. */
static int restore_uid_get(struct restore_run *r, const char *uid, struct restore_uid *u)
{
    unsigned char key[SPILL_KEY];
    int rc;
    memset(u, 0, sizeof(*u));
    if (!uid)
        return 0;
    util_sha256(uid, strlen(uid), key);
    if ((rc = spill_table_find(r->uids, key, u)) < 0) {
        restore_io_failed(r);
        memset(u, 0, sizeof(*u));
        return 0;
    }
    return rc;
}

static void restore_uid_put(struct restore_run *r, const struct restore_uid *u)
{
    if (spill_table_update(r->uids, u) < 0)
        restore_io_failed(r);
}

/* The verifying pass: every byte checked, and the index built. Nothing
 * of the index is used unless the whole archive passed. */
static int restore_verify(struct restore_run *r, const char *archive, json_t **out_manifest)
{
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    archive_reader *ar = NULL;
    struct archive_entry e;
    int rc;

    *out_manifest = NULL;
    ro.key = r->o->key;
    ro.allow_plain = r->o->allow_plain;
    ro.tmpdir = r->o->tmpdir;
    if ((rc = location_open_archive(&ar, r->o->location, archive, NULL, &ro)) < 0)
        goto out;
    while ((rc = archive_reader_next(ar, &e)) > 0) {
        const char *uid = doc_get_str(e.object, "metadata.uid");
        const json_t *ref;
        size_t i;
        if (!restore_selected(r, &e))
            continue;
        r->total++;
        r->ranks[prepare_rank(e.where.resource)] = 1;
        if (uid && (rc = restore_uid_add(r, uid, RESTORE_UID_SELECTED)) < 0)
            goto out;
        json_array_foreach(doc_get(e.object, "metadata.ownerReferences"), i, ref)
        {
            const char *owner = json_string_value(json_object_get(ref, "uid"));
            if (owner && (rc = restore_uid_add(r, owner, RESTORE_UID_REFERENCED)) < 0)
                goto out;
            r->owner_refs += owner != NULL;
        }
        {
            const char *app = doc_get_str(e.object, "metadata.labels." PREPARE_TRACKING_LABEL);
            const char *ns = e.where.namespace_;
            /* a copy in another namespace loses its tracking (prepare.c) */
            if (app && app[0] && (!ns || !strcmp(restore_target_ns(r, ns), ns)))
                json_object_set_new(r->apps, app, json_true());
        }
        if (!strcmp(e.where.resource, "customresourcedefinitions.apiextensions.k8s.io"))
            json_array_append_new(r->crds, json_pack("{s:s?, s:s?, s:s}", "group",
                                                     doc_get_str(e.object, "spec.group"), "kind",
                                                     doc_get_str(e.object, "spec.names.kind"),
                                                     "name", e.where.name));
    }
    if (rc == 0 && (rc = spill_table_seal(r->uids)) == 0) {
        *out_manifest = json_incref((json_t *)archive_reader_manifest(ar));
        memcpy(r->manifest_sha256, archive_reader_manifest_sha256(ar), 65);
        r->entries = archive_reader_take_list(ar);
    }
out:
    archive_reader_close(ar);
    return rc;
}

/* An object's result, appended to the results file (the record streams
 * them from there). */
static void restore_result(struct restore_run *r, const struct archive_entry *e, const char *to_ns,
                           const char *action, const char *message)
{
    json_t *item = json_pack("{s:s, s:s?, s:s}", "resource", e->where.resource, "namespace",
                             e->where.namespace_, "name", e->where.name);
    json_int_t n = json_integer_value(json_object_get(r->counts, action));
    uint32_t len;
    if (to_ns && e->where.namespace_ && strcmp(to_ns, e->where.namespace_) != 0)
        json_object_set_new(item, "targetNamespace", json_string(to_ns));
    json_object_set_new(item, "action", json_string(action));
    if (message)
        json_object_set_new(item, "message", json_string(message));
    json_object_set_new(r->counts, action, json_integer(n + 1));
    buf_clear(&r->scratch);
    doc_emit_json(&r->scratch, item, 0);
    json_decref(item);
    len = (uint32_t)r->scratch.len;
    if (spill_log_append(r->results, &len, sizeof(len)) < 0 ||
        spill_log_append(r->results, r->scratch.ptr, r->scratch.len) < 0)
        restore_io_failed(r);
}

/* The target namespace exists before anything is created in it (Velero
 * makes one that the backup does not hold). */
static int restore_namespace(struct restore_run *r, const char *ns)
{
    json_t *live = NULL, *obj;
    int rc;
    if (json_object_get(r->namespaces, ns))
        return 0;
    rc = kube_client_get(r->kc, "v1", "Namespace", NULL, ns, &live);
    json_decref(live);
    if (rc == ERR_NOTFOUND && !r->dry_run) {
        err_clear();
        obj = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "apiVersion", "v1", "kind",
                        "Namespace", "metadata", "name", ns, "labels", PREPARE_LABEL_BACKUP,
                        json_string_value(json_object_get(r->spec, "backupName")),
                        PREPARE_LABEL_RESTORE, r->o->name);
        rc = kube_client_create(r->kc, obj, NULL);
        json_decref(obj);
        if (rc == ERR_CONFLICT)
            rc = 0;
    } else if (rc == ERR_NOTFOUND) {
        err_clear();
        rc = 0; /* a dry run: it would be made */
    }
    if (rc == 0)
        json_object_set_new(r->namespaces, ns, json_true());
    return rc;
}

/* 1 if the live object differs from what the backup holds, in what a
 * restore writes (top-level fields other than metadata and status). */
static int restore_differs(const json_t *want, const json_t *live)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        if (!strcmp(k, "metadata") || !strcmp(k, "status") || !strcmp(k, "apiVersion") ||
            !strcmp(k, "kind"))
            continue;
        if (!doc_equal(v, json_object_get(live, k)))
            return 1;
    }
    return 0;
}

/* 1 if an owner of obj is restored later in Velero's order (a ConfigMap
 * owned by a custom resource): obj then waits for the last pass, so its
 * reference can name the owner's new uid instead of being dropped. */
static int restore_waits_for_owner(struct restore_run *r, const json_t *obj)
{
    const json_t *ref;
    size_t i;
    json_array_foreach(doc_get(obj, "metadata.ownerReferences"), i, ref)
    {
        struct restore_uid u;
        if (restore_uid_get(r, json_string_value(json_object_get(ref, "uid")), &u) &&
            (u.flags & RESTORE_UID_SELECTED) && u.len == 0)
            return 1;
    }
    return 0;
}

/* old uid -> new uid of obj's owners already in the cluster, as
 * prepare_object wants them (a new object, NULL without owners). */
static json_t *restore_owners(struct restore_run *r, const json_t *obj)
{
    const json_t *ref;
    json_t *owners = NULL;
    size_t i;
    json_array_foreach(doc_get(obj, "metadata.ownerReferences"), i, ref)
    {
        const char *uid = json_string_value(json_object_get(ref, "uid"));
        struct restore_uid u;
        if (!restore_uid_get(r, uid, &u) || u.len == 0)
            continue;
        if (!owners)
            owners = json_object();
        json_object_set_new(owners, uid, json_stringn(u.now, u.len));
    }
    return owners;
}

/* obj is in the cluster as live: note its new uid for the objects that
 * name it as their owner. */
static void restore_note_owner(struct restore_run *r, const char *uid, const char *now)
{
    struct restore_uid u;
    size_t len = now ? strlen(now) : 0;
    /* no object names an owner: nothing to look up */
    if (!uid || !len || r->owner_refs == 0 || !restore_uid_get(r, uid, &u) ||
        !(u.flags & RESTORE_UID_REFERENCED))
        return;
    if (len > sizeof(u.now)) {
        /* not a uid a real API server gives; its dependents' references
         * are dropped, with the warning that says so */
        return;
    }
    memcpy(u.now, now, len);
    u.len = (unsigned char)len;
    restore_uid_put(r, &u);
}

static void restore_status(struct restore_run *r, const char *phase);
static int restore_record_write(struct restore_run *r);

/* Pass the counters on, and rewrite the InProgress record every few
 * seconds so `restore describe` shows how far it got (not per object:
 * flash wears with every write). */
static void restore_progress(struct restore_run *r)
{
    if (r->o->progress)
        r->o->progress(r->o->progress_ctx, r->total, r->done);
    if (time_mono_ms() - r->progress_ms < RESTORE_PROGRESS_MS)
        return;
    r->progress_ms = time_mono_ms();
    restore_status(r, "InProgress");
    if (restore_record_write(r) < 0)
        err_clear(); /* the final write reports a broken location */
}

/* Restore one selected object. Failures are results, not errors: the
 * run goes on. */
static void restore_item(struct restore_run *r, const struct archive_entry *e)
{
    const json_t *ctl = prepare_controller(e->object);
    const char *ns = e->where.namespace_;
    const char *to_ns = ns ? restore_target_ns(r, ns) : NULL;
    const char *uid = doc_get_str(e->object, "metadata.uid");
    const char *api = json_string_value(json_object_get(e->object, "apiVersion"));
    const char *kind = json_string_value(json_object_get(e->object, "kind"));
    const char *ctl_uid = json_string_value(json_object_get(ctl, "uid"));
    const char *group_ns = ns ? to_ns : NULL; /* where messages are grouped */
    struct prepare_options po;
    json_t *obj = NULL, *dropped = NULL, *live = NULL, *owners = NULL;
    const char *name;
    int rc, is_ns = !strcmp(e->where.resource, "namespaces");
    char *msg = NULL;
    struct restore_uid u;

    r->done++;
    if (ctl_uid && restore_uid_get(r, ctl_uid, &u) && (u.flags & RESTORE_UID_SELECTED)) {
        msg = xasprintf("owned by %s %s, which recreates it",
                        json_string_value(json_object_get(ctl, "kind")),
                        json_string_value(json_object_get(ctl, "name")));
        restore_result(r, e, to_ns, "skipped-owned", msg);
        goto out;
    }
    if (!r->last_pass && uid && restore_waits_for_owner(r, e->object)) {
        if (restore_uid_get(r, uid, &u) && !(u.flags & RESTORE_UID_DEFERRED)) {
            u.flags |= RESTORE_UID_DEFERRED;
            restore_uid_put(r, &u);
            r->deferred++;
        }
        r->done--;
        goto out;
    }
    memset(&po, 0, sizeof(po));
    po.restore_name = r->o->name;
    po.backup_name = json_string_value(json_object_get(r->spec, "backupName"));
    po.restore_status = json_is_object(json_object_get(r->spec, "restoreStatus"));
    po.preserve_nodeports = json_is_true(json_object_get(r->spec, "preserveNodePorts"));
    po.owners = owners = restore_owners(r, e->object);
    if (is_ns)
        to_ns = restore_target_ns(r, e->where.name);
    if ((ns || is_ns) && strcmp(to_ns, is_ns ? e->where.name : ns) != 0) {
        po.target_namespace = to_ns;
        po.untrack = 1; /* a copy: the app that manages the original must not own it */
    }
    obj = prepare_object(e->object, &po, &dropped);
    name = doc_get_str(obj, "metadata.name");
    if (ns && (rc = restore_namespace(r, to_ns)) < 0) {
        restore_result(r, e, to_ns, "failed", err_last());
        restore_note(&r->errors, group_ns, "%s %s/%s: namespace %s: %s", kind, to_ns, name, to_ns,
                     err_last());
        err_clear();
        goto out;
    }
    if (r->dry_run) {
        rc = kube_client_get(r->kc, api, kind, to_ns, name, &live);
        if (rc == ERR_NOTFOUND) {
            restore_result(r, e, to_ns, "would-create", NULL);
        } else if (rc < 0) {
            restore_result(r, e, to_ns, "failed", err_last());
            restore_note(&r->errors, group_ns, "%s", err_last());
        } else {
            restore_result(r, e, to_ns,
                           strcmp(r->policy, "update") == 0 ? "would-update" : "skipped-exists",
                           NULL);
        }
        err_clear();
        goto out;
    }
    rc = kube_client_create(r->kc, obj, &live);
    if (rc == ERR_CONFLICT) {
        err_clear();
        json_decref(live);
        live = NULL;
        if ((rc = kube_client_get(r->kc, api, kind, to_ns, name, &live)) == 0) {
            if (strcmp(r->policy, "update") == 0) {
                struct kube_apply_options ao = KUBE_APPLY_OPTIONS_INIT;
                json_t *now = NULL;
                ao.manager = RESTORE_FIELD_MANAGER;
                if ((rc = kube_client_apply_opts(r->kc, obj, &ao, &now)) == 0)
                    restore_result(r, e, to_ns, "updated", NULL);
                json_decref(now);
            } else {
                int differs = restore_differs(obj, live);
                restore_result(r, e, to_ns, "skipped-exists",
                               differs ? "exists; the in-cluster version differs from the backup"
                                       : "exists");
                if (differs)
                    restore_note(&r->warnings, group_ns,
                                 "could not restore, %s \"%s\" already exists. Warning: the "
                                 "in-cluster version is different than the backed-up version",
                                 kind, name);
            }
        }
    } else if (rc == 0) {
        restore_result(r, e, to_ns, "created", NULL);
    }
    if (rc < 0) {
        restore_result(r, e, to_ns, "failed", err_last());
        restore_note(&r->errors, group_ns, "%s", err_last());
        err_clear();
        goto out;
    }
    restore_note_owner(r, uid, doc_get_str(live, "metadata.uid"));
    if (dropped) {
        size_t i;
        json_t *d;
        json_array_foreach(dropped, i, d)
        {
            restore_note(&r->warnings, group_ns,
                         "%s %s: ownerReference to %s dropped: that owner is not restored", kind,
                         name, json_string_value(d));
        }
    }
out:
    free(msg);
    json_decref(obj);
    json_decref(dropped);
    json_decref(live);
    json_decref(owners);
    restore_progress(r);
}

/* Custom resources can only be created once discovery serves their kind. */
static void restore_wait_crds(struct restore_run *r)
{
    size_t i;
    json_t *c;
    int64_t until = time_mono_ms() + RESTORE_CRD_WAIT_MS;
    if (r->dry_run)
        return;
    json_array_foreach(r->crds, i, c)
    {
        const char *group = doc_get_str(c, "group"), *kind = doc_get_str(c, "kind");
        const struct kube_resource *kr;
        int rc;
        if (!group || !kind)
            continue;
        while ((rc = kube_client_preferred(r->kc, group, kind, &kr)) == ERR_NOTFOUND &&
               time_mono_ms() < until) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            err_clear();
            nanosleep(&ts, NULL);
        }
        if (rc < 0) {
            restore_note(&r->errors, "",
                         "CustomResourceDefinition %s: kind %s not served after %d s: %s",
                         doc_get_str(c, "name"), kind, RESTORE_CRD_WAIT_MS / 1000, err_last());
            err_clear();
        }
    }
}

/* One pass over the archive, checked again against the verified list,
 * restoring what take() picks: the objects of one rank of Velero's
 * order, or the deferred ones. */
static int restore_pass(struct restore_run *r, const char *archive,
                        const struct archive_read_options *ro, int rank)
{
    archive_reader *ar = NULL;
    struct archive_entry e;
    int rc;

    if ((rc = location_open_archive(&ar, r->o->location, archive, NULL, ro)) < 0)
        return rc;
    while (!r->io_error && (rc = archive_reader_next(ar, &e)) > 0) {
        struct restore_uid u;
        if (rank >= 0 ? prepare_rank(e.where.resource) == rank && restore_selected(r, &e)
                      : !e.where.version &&
                            restore_uid_get(r, doc_get_str(e.object, "metadata.uid"), &u) &&
                            (u.flags & RESTORE_UID_DEFERRED))
            restore_item(r, &e);
    }
    archive_reader_close(ar);
    if (r->io_error)
        rc = err_set(ERR_IO, "%s", r->io_error);
    return rc < 0 ? rc : 0;
}

/* One pass per rank of Velero's order that occurs, each over the whole
 * archive, then one over the objects that waited for an owner. */
static int restore_run_passes(struct restore_run *r, const char *archive, const json_t *manifest)
{
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    int rc = 0;

    ro.key = r->o->key;
    ro.allow_plain = r->o->allow_plain;
    ro.expect = manifest;
    ro.expect_list = r->entries;
    ro.expect_sha256 = r->manifest_sha256;
    for (int rank = 0; rank <= PREPARE_RANK_REST; rank++) {
        if (!r->ranks[rank])
            continue;
        if ((rc = restore_pass(r, archive, &ro, rank)) < 0)
            return rc;
        if (rank == 0)
            restore_wait_crds(r);
    }
    if (r->deferred == 0)
        return 0;
    r->last_pass = 1;
    return restore_pass(r, archive, &ro, -1);
}

/* Hold back (on) or release the automated sync of the apps whose
 * objects are restored as they were; the record lists them. */
static int restore_hold(struct restore_run *r, int on)
{
    json_t *labels = json_array();
    const char *label;
    json_t *v;
    int rc = 0;

    json_object_foreach(r->apps, label, v)
    {
        json_array_append_new(labels, json_string(label));
    }
    if (json_array_size(labels) && r->o->hold && !r->dry_run) {
        if ((rc = r->o->hold(r->o->hold_ctx, labels, on)) == 0 && on)
            json_object_set(json_object_get(r->rec, "status"), "heldApps", labels);
    }
    json_decref(labels);
    return rc;
}

static void restore_status(struct restore_run *r, const char *phase)
{
    json_t *st = json_object_get(r->rec, "status");
    char now[21];
    json_object_set_new(st, "phase", json_string(phase));
    if (strcmp(phase, "InProgress") != 0) {
        time_rfc3339(now);
        json_object_set_new(st, "completionTimestamp", json_string(now));
    }
    json_object_set_new(st, "progress",
                        json_pack("{s:I, s:I}", "totalItems", (json_int_t)r->total, "itemsRestored",
                                  (json_int_t)r->done));
    json_object_set(st, "counts", r->counts);
    json_object_set_new(st, "warnings", json_integer((json_int_t)r->warnings.n));
    json_object_set_new(st, "errors", json_integer((json_int_t)r->errors.n));
}

/* Send what is in b to the file once it passes 64 KiB (or at the end). */
static int restore_record_flush(struct fs_atomic *a, struct buf *b, int all)
{
    int rc = 0;
    if (b->len >= 65536 || (all && b->len)) {
        rc = fs_atomic_write(a, b->ptr, b->len);
        buf_clear(b);
    }
    return rc;
}

/* The record, written atomically: r->rec, then its results, the last key
 * (restore_record_read_head counts on it), with each object's result
 * streamed from the results file, one per line. */
static int restore_record_write(struct restore_run *r)
{
    struct fs_atomic a;
    struct buf b = BUF_INIT;
    char *path = restore_record_path(r->records, r->o->name), *item = NULL;
    uint32_t len;
    size_t i = 0, item_cap = 0;
    int rc;

    if ((rc = fs_atomic_begin(&a, path, 0600)) < 0)
        goto out;
    doc_emit_json(&b, r->rec, 1);
    while (b.len > 0 && b.ptr[b.len - 1] != '}')
        b.len--;
    if (b.len < 2) {
        rc = err_set(ERR_GENERIC, "restore %s: the record is not an object", r->o->name);
        goto out;
    }
    b.len--; /* its closing brace: the results go before it */
    while (b.len > 0 && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == ' '))
        b.len--;
    buf_puts(&b, "," RESTORE_RESULTS_MARK "{\n    \"items\": [");
    spill_log_rewind(r->results);
    while ((rc = spill_log_read(r->results, &len, sizeof(len))) > 0) {
        if (len > item_cap)
            item = xrealloc(item, item_cap = len);
        if ((rc = spill_log_read(r->results, item, len)) <= 0) {
            if (rc == 0)
                rc = err_set(ERR_GENERIC, "restore %s: a result cut short", r->o->name);
            break;
        }
        buf_puts(&b, i++ ? ",\n      " : "\n      ");
        buf_put(&b, item, len);
        if ((rc = restore_record_flush(&a, &b, 0)) < 0)
            break;
    }
    if (rc < 0)
        goto out;
    buf_puts(&b, i ? "\n    ],\n    \"warnings\": " : "],\n    \"warnings\": ");
    restore_msgs_emit(&r->warnings, "warnings", &b);
    buf_puts(&b, ",\n    \"errors\": ");
    restore_msgs_emit(&r->errors, "errors", &b);
    buf_puts(&b, "\n  }\n}\n");
    if ((rc = restore_record_flush(&a, &b, 1)) < 0)
        goto out;
    rc = fs_atomic_commit(&a);
out:
    if (rc < 0 && a.path)
        fs_atomic_abort(&a);
    buf_dispose(&b);
    free(item);
    free(path);
    return rc;
}

int restore_create(kube_client *kc, const struct restore_options *o, json_t **out_record)
{
    struct restore_run r;
    json_t *old = NULL, *brec = NULL, *manifest = NULL;
    char *archive = NULL, now[21];
    const char *phase, *records = o->records ? o->records : o->location;
    int rc, lock_fd = -1, resumed = 0;

    if (out_record)
        *out_record = NULL;
    memset(&r, 0, sizeof(r));
    r.kc = kc;
    r.o = o;
    r.spec = o->spec;
    if (!str_dns_subdomain(o->name))
        return err_set(ERR_INVALID,
                       "restore name \"%s\": lower-case letters, digits, '-' and '.', starting and "
                       "ending with a letter or digit, at most 253 characters",
                       o->name);
    if ((rc = restore_spec_check(o->spec)) < 0)
        return rc;
    if (location_is_s3(records))
        return err_set(ERR_INVALID, "restore %s: records of a restore from %s need a folder",
                       o->name, o->location);
    if ((rc = restore_lock(records, 1, &lock_fd)) < 0)
        return rc;
    rc = restore_record_read_head(records, o->name, &old);
    if (rc == 0) {
        phase = doc_get_str(old, "status.phase");
        if (phase && strcmp(phase, "InProgress") != 0 && strcmp(phase, "Failed") != 0 &&
            strcmp(phase, "FailedValidation") != 0) {
            rc = err_set(ERR_CONFLICT, "restore %s: exists already (%s)", o->name, phase);
            goto out;
        }
        resumed = phase && strcmp(phase, "InProgress") == 0;
    } else if (rc != ERR_NOTFOUND) {
        goto out;
    }
    err_clear();
    r.policy = json_string_value(json_object_get(o->spec, "existingResourcePolicy"));
    r.dry_run = json_is_true(json_object_get(o->spec, "dryRun"));
    r.records = records;
    r.uids = spill_table_new(o->tmpdir, sizeof(struct restore_uid), restore_uid_merge,
                             "the restore's index of objects");
    r.results = spill_log_new(o->tmpdir, "the restore's results");
    buf_init(&r.scratch);
    r.crds = json_array();
    r.apps = json_object();
    r.namespaces = json_object();
    r.counts = json_object();
    restore_msgs_init(&r.warnings);
    restore_msgs_init(&r.errors);
    time_rfc3339(now);
    r.rec = json_pack("{s:s, s:s, s:{s:s}, s:O, s:{s:s, s:s}}", "apiVersion", "velero.io/v1",
                      "kind", "Restore", "metadata", "name", o->name, "spec", o->spec, "status",
                      "phase", "New", "startTimestamp", now);
    if (resumed)
        restore_note(&r.warnings, "", "an earlier run of this restore was interrupted; run again");

    /* New -> FailedValidation | InProgress: nothing touches the cluster
     * before this has passed. */
    rc = location_get(o->location, json_string_value(json_object_get(o->spec, "backupName")), &brec,
                      &archive);
    if (rc == 0 && json_object_get(brec, "problem"))
        rc = err_set(ERR_INVALID, "backup %s: %s", doc_get_str(brec, "metadata.name"),
                     doc_get_str(brec, "problem"));
    if (rc == 0)
        rc = restore_verify(&r, archive, &manifest);
    if (rc < 0) {
        json_object_set_new(json_object_get(r.rec, "status"), "validationErrors",
                            json_pack("[s]", err_last()));
        restore_status(&r, "FailedValidation");
        {
            int keep = rc;
            char *msg = xstrdup(err_last());
            if (restore_record_write(&r) < 0)
                err_clear();
            rc = err_set(keep, "%s", msg);
            free(msg);
        }
        goto out;
    }
    restore_status(&r, "InProgress");
    if ((rc = restore_record_write(&r)) < 0)
        goto out;
    r.progress_ms = time_mono_ms();

    /* InProgress -> Completed | PartiallyFailed | Failed */
    rc = restore_hold(&r, 1);
    if (rc == 0)
        rc = restore_run_passes(&r, archive, manifest);
    if (restore_hold(&r, 0) < 0 && rc == 0)
        restore_note(&r.warnings, "", "%s", err_last());
    if (rc < 0) {
        restore_note(&r.errors, "", "%s", err_last());
        restore_status(&r, "Failed");
    } else {
        restore_status(&r, r.errors.n ? "PartiallyFailed" : "Completed");
    }
    {
        int keep = rc;
        char *msg = rc < 0 ? xstrdup(err_last()) : NULL;
        rc = restore_record_write(&r);
        if (keep < 0) {
            rc = err_set(keep, "%s", msg);
            free(msg);
        }
    }
out:
    if (rc == 0 && out_record)
        *out_record = json_incref(r.rec);
    else if (rc < 0 && out_record && r.rec)
        *out_record = json_incref(r.rec);
    if (lock_fd >= 0)
        close(lock_fd);
    json_decref(old);
    json_decref(brec);
    json_decref(manifest);
    free(archive);
    json_decref(r.rec);
    spill_table_free(r.uids);
    archive_list_free(r.entries);
    spill_log_free(r.results);
    buf_dispose(&r.scratch);
    free(r.io_error);
    json_decref(r.crds);
    json_decref(r.apps);
    json_decref(r.namespaces);
    json_decref(r.counts);
    json_decref(r.warnings.groups);
    json_decref(r.errors.groups);
    return rc;
}
