/*
 * `edgecd admin export` and `edgecd admin import`: moving a site between
 * edgecd and Argo CD in Argo CD's own YAML.
 *
 * Export reads the store directly (no server needed, and safe while serve
 * runs: each list and get is its own read) and prints one YAML stream:
 * AppProjects, Applications, ApplicationSets, each sorted by name, then
 * the argocd-cm ConfigMap of the site config's settingsFile when --config
 * is given. Manifests are printed as stored, without the annotations
 * edgecd writes for its own bookkeeping (edgecd.io/parent,
 * edgecd.io/applicationset); annotations an operator writes, such as
 * edgecd.io/depends-on, stay (Argo CD ignores them).
 *
 * Import takes such a stream, or `argocd admin export` / `kubectl get -o
 * yaml` output (List objects are opened), and registers its Applications,
 * AppProjects and ApplicationSets. Every document is checked first, as the
 * site config's are; one bad document and nothing is written. What the
 * server filled in (status, operation, uid, resourceVersion, ...) is
 * dropped: edgecd computes its own. Other kinds are skipped, by name.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"
#include "engine/engine.h"
#include "model/app.h"
#include "model/appset.h"
#include "model/config.h"
#include "model/project.h"
#include "storage/store.h"

#define ADMIN_DEFAULT_DATA "/var/lib/edgecd"
#define ADMIN_MAX_IMPORT (64u << 20)

/* The three kinds, with the store's calls and the model's check. */
struct admin_kind {
    const char *kind;
    int (*list)(store *, char ***, size_t *);
    int (*get)(store *, const char *, char **);
    int (*put)(store *, const char *, const char *);
    int (*check)(const json_t *doc, const char *where);
};

static int admin_check_app(const json_t *doc, const char *where)
{
    struct app a;
    int rc = app_parse(&a, doc, where);
    app_dispose(&a);
    return rc;
}

static int admin_check_project(const json_t *doc, const char *where)
{
    struct project p;
    int rc = project_parse(&p, doc, where);
    project_dispose(&p);
    return rc;
}

static int admin_check_appset(const json_t *doc, const char *where)
{
    struct appset s;
    int rc = appset_parse(&s, doc, where);
    appset_dispose(&s);
    return rc;
}

/* In the order export prints them: projects before the apps naming them. */
static const struct admin_kind admin_kinds[] = {
    {"AppProject", store_project_list, store_project_get, store_project_put, admin_check_project},
    {"Application", store_app_list, store_app_get, store_app_put, admin_check_app},
    {"ApplicationSet", store_appset_list, store_appset_get, store_appset_put, admin_check_appset},
};
#define ADMIN_NKINDS (sizeof(admin_kinds) / sizeof(admin_kinds[0]))

/* Remove key from the object at path in doc, and the object itself if
 * that leaves it empty. */
static void admin_drop(json_t *doc, const char *path, const char *key)
{
    json_t *m = json_object_get(doc, "metadata"), *o = m ? json_object_get(m, path) : NULL;
    if (!json_is_object(o))
        return;
    json_object_del(o, key);
    if (json_object_size(o) == 0)
        json_object_del(m, path);
}

/* What edgecd writes on a stored manifest for itself. */
static void admin_strip_edgecd(json_t *doc)
{
    admin_drop(doc, "annotations", ENGINE_ANNOTATION_PARENT);
    admin_drop(doc, "annotations", ENGINE_ANNOTATION_APPSET);
}

/* What an API server filled in on an exported object. */
static void admin_strip_server(json_t *doc)
{
    static const char *const meta[] = {"uid",        "resourceVersion", "creationTimestamp",
                                       "generation", "managedFields",   "selfLink"};
    json_t *m = json_object_get(doc, "metadata");
    json_object_del(doc, "status");
    json_object_del(doc, "operation");
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        json_object_del(m, meta[i]);
    admin_drop(doc, "annotations", "kubectl.kubernetes.io/last-applied-configuration");
    admin_strip_edgecd(doc);
}

static const char *admin_data(const char *given)
{
    if (given)
        return given;
    return getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : ADMIN_DEFAULT_DATA;
}

/* The stored manifests of every kind, stripped, into out (in order). */
static int admin_collect(store *st, json_t *out)
{
    for (size_t k = 0; k < ADMIN_NKINDS; k++) {
        char **names = NULL;
        size_t n = 0;
        int rc = admin_kinds[k].list(st, &names, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char *text = NULL;
            json_t *doc = NULL;
            rc = admin_kinds[k].get(st, names[i], &text);
            if (rc == ERR_NOTFOUND) { /* deleted meanwhile */
                err_clear();
                rc = 0;
                continue;
            }
            if (rc == 0 && (rc = doc_parse_json(&doc, text, strlen(text), names[i], NULL)) == 0) {
                admin_strip_edgecd(doc);
                json_array_append_new(out, doc);
            }
            free(text);
        }
        store_names_free(names, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int admin_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = NULL, *config_path = NULL;
    struct config cfg;
    struct buf text = BUF_INIT, out = BUF_INIT;
    json_t *docs = json_array(), *cm = NULL;
    store *st = NULL;
    char *db = NULL;
    int c, rc = 1, usage = 0;

    memset(&cfg, 0, sizeof(cfg));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'c')
            config_path = optarg;
        else
            usage = c == 'h' ? 1 : 2;
    }
    if (usage || optind != argc) {
        fprintf(usage == 1 ? stdout : stderr, "usage: edgecd admin export %s\n",
                ADMIN_EXPORT_USAGE);
        rc = usage == 1 ? 0 : 2;
        goto out;
    }
    db = xasprintf("%s/state.db", admin_data(data));
    if (!fs_exists(db)) {
        err_set(ERR_NOTFOUND, "%s: no store (--data names the data directory)", db);
        goto fail;
    }
    if (store_open(&st, db) < 0 || admin_collect(st, docs) < 0)
        goto fail;
    if (config_path) {
        if (config_load(&cfg, config_path) < 0)
            goto fail;
        if (cfg.settings_file[0]) {
            if (fs_read_file(cfg.settings_file, ADMIN_MAX_IMPORT, &text) < 0 ||
                doc_parse_yaml(&cm, text.ptr ? text.ptr : "", text.len, cfg.settings_file, NULL) <
                    0)
                goto fail;
            json_array_extend(docs, cm);
        }
    }
    doc_emit_yaml_stream(&out, docs);
    if (out.len && out.ptr[out.len - 1] != '\n')
        buf_putc(&out, '\n');
    fputs(buf_cstr(&out), stdout);
    rc = 0;
    goto out;
fail:
    rc = cli_fail();
out:
    store_close(st);
    config_dispose(&cfg);
    json_decref(docs);
    json_decref(cm);
    buf_dispose(&text);
    buf_dispose(&out);
    free(db);
    return rc;
}

/* The kind's entry for doc, or NULL for a kind edgecd does not take. */
static const struct admin_kind *admin_kind_of(const json_t *doc)
{
    const char *kind = doc_get_str(doc, "kind"), *api = doc_get_str(doc, "apiVersion");
    if (!kind || !api || !str_has_prefix(api, "argoproj.io/"))
        return NULL;
    for (size_t k = 0; k < ADMIN_NKINDS; k++)
        if (!strcmp(kind, admin_kinds[k].kind))
            return &admin_kinds[k];
    return NULL;
}

/* The documents of the file, List objects opened, as a new array. */
static int admin_read_stream(const char *file, json_t **out)
{
    struct buf data = BUF_INIT;
    json_t *docs = NULL, *flat = json_array(), *doc;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = fs_read_file(file, ADMIN_MAX_IMPORT, &data)) < 0 ||
        (rc = doc_parse_file_data(&docs, data.ptr ? data.ptr : "", data.len, file, NULL)) < 0)
        goto out;
    json_array_foreach(docs, i, doc)
    {
        const char *kind = doc_get_str(doc, "kind");
        if (json_is_null(doc))
            continue; /* an empty document between two "---" */
        if (!json_is_object(doc)) {
            rc = err_set(ERR_INVALID, "%s: document %zu: not a mapping", file, i + 1);
            goto out;
        }
        if (kind && str_has_suffix(kind, "List") && json_is_array(json_object_get(doc, "items")))
            json_array_extend(flat, json_object_get(doc, "items"));
        else
            json_array_append(flat, doc);
    }
    *out = flat;
    flat = NULL;
out:
    json_decref(docs);
    json_decref(flat);
    buf_dispose(&data);
    return rc;
}

int admin_import(int argc, char **argv)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *data = NULL, *file;
    json_t *docs = NULL, *doc, *seen = json_object();
    struct buf skipped = BUF_INIT;
    store *st = NULL;
    char *db = NULL;
    size_t i, n_skipped = 0;
    int c, rc = 1, usage = 0, dry = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'n')
            dry = 1;
        else
            usage = c == 'h' ? 1 : 2;
    }
    if (usage || optind != argc - 1) {
        fprintf(usage == 1 ? stdout : stderr, "usage: edgecd admin import %s\n",
                ADMIN_IMPORT_USAGE);
        rc = usage == 1 ? 0 : 2;
        goto out;
    }
    file = argv[optind];
    if (admin_read_stream(file, &docs) < 0)
        goto fail;
    /* Every document checked before anything is written. */
    json_array_foreach(docs, i, doc)
    {
        const struct admin_kind *k = admin_kind_of(doc);
        const char *name = doc_get_str(doc, "metadata.name");
        char *where, *key;
        int bad;
        if (!k) {
            const char *kind = doc_get_str(doc, "kind"),
                       *ns = doc_get_str(doc, "metadata.namespace");
            buf_printf(&skipped, "%s%s %s%s%s", n_skipped ? ", " : "", kind ? kind : "(no kind)",
                       ns ? ns : "", ns ? "/" : "", name ? name : "(no name)");
            n_skipped++;
            continue;
        }
        admin_strip_server(doc);
        where = xasprintf("%s: %s %s", file, k->kind, name ? name : "(no name)");
        bad = k->check(doc, where) < 0;
        free(where);
        if (bad)
            goto fail;
        key = xasprintf("%s/%s", k->kind, name);
        if (json_object_get(seen, key)) {
            err_set(ERR_INVALID, "%s: %s %s appears twice", file, k->kind, name);
            free(key);
            goto fail;
        }
        json_object_set_new(seen, key, json_true());
        free(key);
    }
    if (json_object_size(seen) == 0) {
        err_set(ERR_INVALID, "%s: no Application, AppProject or ApplicationSet", file);
        goto fail;
    }
    db = xasprintf("%s/state.db", admin_data(data));
    if (!dry && (fs_mkdir_p(admin_data(data), 0700) < 0 || store_open(&st, db) < 0))
        goto fail;
    json_array_foreach(docs, i, doc)
    {
        const struct admin_kind *k = admin_kind_of(doc);
        const char *name = doc_get_str(doc, "metadata.name");
        struct buf js = BUF_INIT;
        char *old = NULL;
        const char *what = "created";
        int r = 0;
        if (!k)
            continue;
        doc_emit_json(&js, doc, 0);
        if (!dry) {
            r = k->get(st, name, &old);
            if (r == 0)
                what = strcmp(old, buf_cstr(&js)) == 0 ? "unchanged" : "updated";
            else if (r == ERR_NOTFOUND)
                err_clear();
            r = r == ERR_NOTFOUND || r == 0 ? k->put(st, name, buf_cstr(&js)) : r;
        }
        free(old);
        buf_dispose(&js);
        if (r < 0)
            goto fail;
        printf("%s %s: %s%s\n", k->kind, name, what, dry ? " (dry run)" : "");
    }
    if (n_skipped)
        printf("skipped %zu document(s) edgecd does not take (it registers Application, "
               "AppProject and ApplicationSet; Argo CD settings go in the site config's "
               "settingsFile and secretsFile): %s\n",
               n_skipped, buf_cstr(&skipped));
    rc = 0;
    goto out;
fail:
    rc = cli_fail();
out:
    store_close(st);
    json_decref(docs);
    json_decref(seen);
    buf_dispose(&skipped);
    free(db);
    return rc;
}
