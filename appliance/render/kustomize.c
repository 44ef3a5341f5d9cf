/*
 * A native Kustomize: the part of kustomize 5 that edge repositories use,
 * read through render_fs, so an overlay touches only the files it names.
 *
 * One kustomization is built as kustomize's KustTarget does:
 *
 *   resources (files, folders holding a kustomization, built recursively)
 *     -> components (each applied to everything accumulated so far)
 *     -> generators (configMapGenerator, secretGenerator)
 *     -> transformers, in kustomize's fixed order: patchesStrategicMerge,
 *        patches, namespace, namePrefix, nameSuffix, labels/commonLabels,
 *        commonAnnotations, patchesJson6902, replicas, images
 *
 * and, once at the top: the content-hash suffix of generated objects, then
 * name references (a Deployment's configMapRef, a RoleBinding's roleRef…)
 * rewritten to the final names. Each object remembers every name it had,
 * so a reference written against a base's name still finds the object
 * after prefixes at several levels and the hash.
 *
 * What is not implemented is refused with the field's name, never
 * ignored: a render that quietly dropped a `replacements` block would
 * deploy something other than what the repository says.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/path.h"
#include "core/util.h"
#include "doc/doc.h"
#include "doc/patch.h"
#include "render/render.h"
#include "render/tool.h"

/* Kustomizations nested deeper than this are refused (a cycle is caught
 * by this as well as by the visiting set). */
#define KZ_MAX_DEPTH 32

struct kz_res {
    json_t *obj;
    json_t *names; /* every name it had before the current one, oldest first */
    int needs_hash;
};

struct kz_set {
    struct kz_res *v;
    size_t n, cap;
};

struct kz {
    render_fs *fs;
    json_t *visiting; /* folder -> true while being built */
    int depth;
};

/* ---- resources ---- */

static void kz_set_add(struct kz_set *s, json_t *obj, int needs_hash)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n].obj = obj;
    s->v[s->n].names = json_array();
    s->v[s->n].needs_hash = needs_hash;
    s->n++;
}

static void kz_set_dispose(struct kz_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->v[i].obj);
        json_decref(s->v[i].names);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Move every resource of from to the end of to. */
static void kz_set_take(struct kz_set *to, struct kz_set *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n == to->cap) {
            to->cap = to->cap ? to->cap * 2 : 16;
            to->v = xrealloc(to->v, to->cap * sizeof(*to->v));
        }
        to->v[to->n++] = from->v[i];
    }
    free(from->v);
    memset(from, 0, sizeof(*from));
}

static const char *kz_name(const struct kz_res *r)
{
    const char *n = doc_get_str(r->obj, "metadata.name");
    return n ? n : "";
}

static const char *kz_kind(const struct kz_res *r)
{
    const char *k = doc_get_str(r->obj, "kind");
    return k ? k : "";
}

static const char *kz_ns(const struct kz_res *r)
{
    const char *n = doc_get_str(r->obj, "metadata.namespace");
    return n ? n : "";
}

/* The group of an apiVersion ("" for core) into out. */
static void kz_group(const char *api_version, char *out, size_t len)
{
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    size_t n = slash ? (size_t)(slash - api_version) : 0;
    if (n >= len)
        n = len - 1;
    memcpy(out, api_version ? api_version : "", n);
    out[n] = '\0';
}

/* 1 if name is the resource's current or any earlier name. */
static int kz_had_name(const struct kz_res *r, const char *name)
{
    json_t *v;
    size_t i;

    if (!strcmp(kz_name(r), name))
        return 1;
    json_array_foreach(r->names, i, v)
    {
        if (!strcmp(json_string_value(v), name))
            return 1;
    }
    return 0;
}

static void kz_rename(struct kz_res *r, const char *name)
{
    if (!strcmp(kz_name(r), name))
        return;
    json_array_append_new(r->names, json_string(kz_name(r)));
    json_object_set_new(json_object_get(r->obj, "metadata"), "name", json_string(name));
}

/* Kinds kustomize treats as cluster-scoped (no namespace is set on them). */
static int kz_cluster_scoped(const char *kind)
{
    static const char *const kinds[] = {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kind, kinds[i]))
            return 1;
    return 0;
}

/* ---- the kustomization file ---- */

enum kz_support { KZ_OK, KZ_IGNORED, KZ_UNSUPPORTED };

static const struct {
    const char *field;
    enum kz_support support;
} kz_fields[] = {
    {"apiVersion", KZ_OK},
    {"kind", KZ_OK},
    {"metadata", KZ_IGNORED},
    {"resources", KZ_OK},
    {"bases", KZ_OK},
    {"components", KZ_OK},
    {"namespace", KZ_OK},
    {"namePrefix", KZ_OK},
    {"nameSuffix", KZ_OK},
    {"commonLabels", KZ_OK},
    {"labels", KZ_OK},
    {"commonAnnotations", KZ_OK},
    {"images", KZ_OK},
    {"replicas", KZ_OK},
    {"patches", KZ_OK},
    {"patchesStrategicMerge", KZ_OK},
    {"patchesJson6902", KZ_OK},
    {"configMapGenerator", KZ_OK},
    {"secretGenerator", KZ_OK},
    {"generatorOptions", KZ_OK},
    {"sortOptions", KZ_IGNORED}, /* output order: the engine orders by kind */
    {"crds", KZ_UNSUPPORTED},
    {"vars", KZ_UNSUPPORTED},
    {"replacements", KZ_UNSUPPORTED},
    {"helmCharts", KZ_UNSUPPORTED},
    {"helmGlobals", KZ_UNSUPPORTED},
    {"helmChartInflationGenerator", KZ_UNSUPPORTED},
    {"openapi", KZ_UNSUPPORTED},
    {"configurations", KZ_UNSUPPORTED},
    {"generators", KZ_UNSUPPORTED},
    {"transformers", KZ_UNSUPPORTED},
    {"validators", KZ_UNSUPPORTED},
    {"buildMetadata", KZ_UNSUPPORTED},
    {"imageTags", KZ_UNSUPPORTED},
};

static int kz_check_fields(const json_t *k, const char *file)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)k, key, v)
    {
        size_t i;
        for (i = 0; i < sizeof(kz_fields) / sizeof(kz_fields[0]); i++)
            if (!strcmp(key, kz_fields[i].field))
                break;
        if (i == sizeof(kz_fields) / sizeof(kz_fields[0]))
            return err_set(ERR_INVALID, "%s: %s: unknown kustomization field", file, key);
        if (kz_fields[i].support == KZ_UNSUPPORTED)
            return err_set(ERR_UNSUPPORTED,
                           "%s: %s: not supported by edgecd's built-in Kustomize; configure an "
                           "external kustomize",
                           file, key);
    }
    return 0;
}

/* The kustomization file in dir, as a new path; NULL if none. */
static char *kz_find(render_fs *fs, const char *dir)
{
    static const char *const names[] = {"kustomization.yaml", "kustomization.yml", "Kustomization"};
    for (size_t i = 0; i < 3; i++) {
        char *p = dir[0] ? xasprintf("%s/%s", dir, names[i]) : xstrdup(names[i]);
        if (render_fs_stat(fs, p) == RENDER_ENTRY_FILE)
            return p;
        free(p);
    }
    err_clear();
    return NULL;
}

int render_kustomize_present(render_fs *fs, const char *dir)
{
    char *p = kz_find(fs, dir);
    free(p);
    return p != NULL;
}

/* Read and parse a YAML (or JSON) file: a new array of documents. With
 * v3, typed as kustomize's yaml.v3 reader types resources and patches (an
 * unquoted yes stays a string); kustomization files themselves are read
 * as kubectl reads YAML (v3 = 0). */
static const struct doc_limits kz_v3_limits = {8u << 20, 100, 1000000, 10000, 1};

static int kz_read_docs(struct kz *z, const char *path, json_t **out, int v3)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    char *data = NULL, *name;
    size_t len;
    int rc;

    *out = NULL;
    lim.yaml_v3_bools = v3;
    if ((rc = render_fs_read(z->fs, path, &data, &len)) < 0)
        return rc;
    name = xasprintf("%s:%s", render_fs_name(z->fs), path);
    rc = doc_parse_file_data(out, data, len, name, &lim);
    free(name);
    free(data);
    return rc;
}

/* A list field of k: NULL if absent; ERR_INVALID if not a list. */
static int kz_list(const json_t *k, const char *field, const char *file, const json_t **out)
{
    const json_t *v = json_object_get(k, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return err_set(ERR_INVALID, "%s: %s: must be a list", file, field);
    *out = v;
    return 0;
}

/* A string field of k (NULL if absent or empty). */
static int kz_str(const json_t *k, const char *field, const char *file, const char **out)
{
    const json_t *v = json_object_get(k, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(ERR_INVALID, "%s: %s: must be a string", file, field);
    *out = json_string_value(v)[0] ? json_string_value(v) : NULL;
    return 0;
}

/* A map of strings (labels, annotations): ERR_INVALID naming a value that
 * is not a string, as kustomize refuses `app: true`. */
static int kz_string_map(const json_t *m, const char *file, const char *field)
{
    const char *key;
    json_t *v;

    if (!m || json_is_null(m))
        return 0;
    if (!json_is_object(m))
        return err_set(ERR_INVALID, "%s: %s: must be a mapping", file, field);
    json_object_foreach((json_t *)m, key, v)
    {
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s: %s.%s: must be a string (quote it)", file, field, key);
    }
    return 0;
}

/* ---- resources ---- */

static int kz_build(struct kz *z, const char *dir, struct kz_set *set, int component,
                    const json_t *overrides);

static int kz_add_docs(struct kz_set *set, json_t *docs, const char *path)
{
    json_t *d, *item;
    size_t i, k;

    json_array_foreach(docs, i, d)
    {
        if (json_is_null(d))
            continue;
        if (!json_is_object(d) || !json_is_string(json_object_get(d, "kind")))
            return err_set(ERR_INVALID, "%s: document %zu: not a Kubernetes object (no kind)", path,
                           i + 1);
        if (!strcmp(json_string_value(json_object_get(d, "kind")), "List") &&
            json_is_array(json_object_get(d, "items"))) {
            json_array_foreach(json_object_get(d, "items"), k, item)
            {
                if (!json_is_object(item))
                    return err_set(ERR_INVALID, "%s: document %zu: items[%zu]: not an object", path,
                                   i + 1, k);
                kz_set_add(set, json_deep_copy(item), 0);
            }
            continue;
        }
        if (!json_is_object(json_object_get(d, "metadata")))
            return err_set(ERR_INVALID, "%s: document %zu: metadata: missing", path, i + 1);
        kz_set_add(set, json_deep_copy(d), 0);
    }
    return 0;
}

static int kz_is_remote(const char *r)
{
    return strstr(r, "://") || str_has_prefix(r, "github.com/") ||
           str_has_prefix(r, "gitlab.com/") || str_has_prefix(r, "bitbucket.org/") ||
           str_has_prefix(r, "git@") || strstr(r, "?ref=") || strstr(r, ".git//");
}

static int kz_resources(struct kz *z, const char *dir, const char *file, const json_t *list,
                        const char *field, struct kz_set *set)
{
    const json_t *v;
    size_t i;
    int rc = 0;

    json_array_foreach(list, i, v)
    {
        const char *r = json_string_value(v);
        char *path = NULL;
        int type;

        if (!r)
            return err_set(ERR_INVALID, "%s: %s[%zu]: must be a string", file, field, i);
        if (kz_is_remote(r))
            return err_set(ERR_UNSUPPORTED,
                           "%s: %s[%zu]: remote resource \"%s\" is not supported: edge sites "
                           "render offline; vendor it into the repository",
                           file, field, i, r);
        if ((rc = path_join(&path, dir, r)) < 0)
            return err_prefix(rc, "%s: %s[%zu]", file, field, i);
        type = render_fs_stat(z->fs, path);
        if (type < 0) {
            free(path);
            return err_prefix(type, "%s: %s[%zu]", file, field, i);
        }
        if (type == 0) {
            rc = err_set(ERR_NOTFOUND, "%s: %s[%zu]: %s: no such file or folder", file, field, i,
                         path);
        } else if (type == RENDER_ENTRY_FILE) {
            json_t *docs = NULL;
            if ((rc = kz_read_docs(z, path, &docs, 1)) == 0)
                rc = kz_add_docs(set, docs, path);
            json_decref(docs);
        } else {
            struct kz_set sub = {0};
            rc = kz_build(z, path, &sub, 0, NULL);
            if (rc == 0)
                kz_set_take(set, &sub);
            kz_set_dispose(&sub);
        }
        free(path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- generators ---- */

/* Go's encoding/json string form, which kustomize's hash is taken over:
 * <, > and & escaped, control characters as \u00XX except \n \r \t. */
static void kz_go_json_str(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        case '<':
        case '>':
        case '&':
            buf_printf(b, "\\u%04x", *p);
            break;
        default:
            if (*p < 0x20)
                buf_printf(b, "\\u%04x", *p);
            else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
                buf_printf(b, "\\u20%02x", p[2] == 0xa8 ? 0x28 : 0x29);
                p += 2;
            } else
                buf_putc(b, (char)*p);
        }
    }
    buf_putc(b, '"');
}

static int kz_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map of strings as Go marshals it: keys sorted. */
static void kz_go_json_map(struct buf *b, const json_t *m)
{
    size_t n = json_object_size(m), i = 0;
    const char **keys = xcalloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)m, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), kz_key_cmp);
    buf_putc(b, '{');
    for (i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        kz_go_json_str(b, keys[i]);
        buf_putc(b, ':');
        kz_go_json_str(b, json_string_value(json_object_get(m, keys[i])));
    }
    buf_putc(b, '}');
    free(keys);
}

/* kustomize's name hash of a ConfigMap or Secret: SHA-256 over the JSON of
 * kind, an empty name, data (and binaryData, or type for a Secret), the
 * first ten hex digits with 0 1 3 a e replaced so no word can form. */
void render_kustomize_hash(const json_t *obj, char out[11])
{
    struct buf b = BUF_INIT;
    const char *kind = doc_get_str(obj, "kind");
    const json_t *data = json_object_get(obj, "data");
    const json_t *bin = json_object_get(obj, "binaryData");
    char hex[65];
    int secret = kind && !strcmp(kind, "Secret");
    json_t *empty = json_object();

    buf_putc(&b, '{');
    if (!secret && json_object_size(bin) > 0) {
        buf_puts(&b, "\"binaryData\":");
        kz_go_json_map(&b, bin);
        buf_putc(&b, ',');
    }
    buf_puts(&b, "\"data\":");
    kz_go_json_map(&b, data ? data : empty);
    buf_printf(&b, ",\"kind\":\"%s\",\"name\":\"\"", secret ? "Secret" : "ConfigMap");
    if (secret) {
        buf_puts(&b, ",\"type\":");
        kz_go_json_str(&b, doc_get_str(obj, "type") ? doc_get_str(obj, "type") : "Opaque");
    }
    buf_putc(&b, '}');
    util_sha256_hex(buf_cstr(&b), b.len, hex);
    for (int i = 0; i < 10; i++) {
        switch (hex[i]) {
        case '0':
            hex[i] = 'g';
            break;
        case '1':
            hex[i] = 'h';
            break;
        case '3':
            hex[i] = 'k';
            break;
        case 'a':
            hex[i] = 'm';
            break;
        case 'e':
            hex[i] = 't';
            break;
        default:
            break;
        }
    }
    memcpy(out, hex, 10);
    out[10] = '\0';
    json_decref(empty);
    buf_dispose(&b);
}

/* 1 if data (len bytes) is valid UTF-8 with no NUL. */
static int kz_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || c == 0 || i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n;
    }
    return 1;
}

static json_t *kz_base64(const unsigned char *data, size_t len)
{
    size_t olen = 0;
    unsigned char *out;
    json_t *s;

    mbedtls_base64_encode(NULL, 0, &olen, data, len);
    out = xmalloc(olen + 1);
    if (mbedtls_base64_encode(out, olen + 1, &olen, data, len) != 0)
        abort();
    s = json_stringn((const char *)out, olen);
    free(out);
    return s;
}

/* Put key=value into the generated object: Secrets base64 in data,
 * ConfigMaps text in data or bytes in binaryData. */
static void kz_gen_put(json_t *obj, int secret, const char *key, const char *val, size_t len)
{
    const char *field = secret                                     ? "data"
                        : kz_utf8((const unsigned char *)val, len) ? "data"
                                                                   : "binaryData";
    json_t *m = json_object_get(obj, field);
    json_t *v = (secret || !strcmp(field, "binaryData"))
                    ? kz_base64((const unsigned char *)val, len)
                    : json_stringn(val, len);

    if (!m) {
        m = json_object();
        json_object_set_new(obj, field, m);
    }
    json_object_set_new(m, key, v);
}

/* kustomize trims one pair of matching quotes from a literal's value. */
static void kz_unquote(const char **v, size_t *len)
{
    if (*len >= 2 && ((*v)[0] == '"' || (*v)[0] == '\'') && (*v)[*len - 1] == (*v)[0]) {
        (*v)++;
        *len -= 2;
    }
}

static int kz_gen_literals(json_t *obj, int secret, const json_t *list, const char *where)
{
    const json_t *v;
    size_t i;

    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v), *eq;
        char *key;
        size_t len;
        if (!s || !(eq = strchr(s, '=')) || eq == s)
            return err_set(ERR_INVALID, "%s: literals[%zu]: must be KEY=VALUE", where, i);
        key = xstrndup(s, (size_t)(eq - s));
        eq++;
        len = strlen(eq);
        kz_unquote(&eq, &len);
        kz_gen_put(obj, secret, key, eq, len);
        free(key);
    }
    return 0;
}

static int kz_gen_files(struct kz *z, const char *dir, json_t *obj, int secret, const json_t *list,
                        const char *where)
{
    const json_t *v;
    size_t i;
    int rc = 0;

    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v), *eq;
        char *key, *path = NULL, *data = NULL;
        size_t len;
        if (!s || !s[0])
            return err_set(ERR_INVALID, "%s: files[%zu]: must be a path or KEY=path", where, i);
        eq = strchr(s, '=');
        key = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(path_basename(s));
        if ((rc = path_join(&path, dir, eq ? eq + 1 : s)) < 0 ||
            (rc = render_fs_read(z->fs, path, &data, &len)) < 0) {
            err_prefix(rc, "%s: files[%zu]", where, i);
        } else {
            kz_gen_put(obj, secret, key, data, len);
        }
        free(key);
        free(path);
        free(data);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* env files: KEY=VALUE lines; blank lines and # comments skipped. */
static int kz_gen_envs(struct kz *z, const char *dir, json_t *obj, int secret, const json_t *list,
                       const char *where)
{
    const json_t *v;
    size_t i;
    int rc = 0;

    json_array_foreach(list, i, v)
    {
        char *path = NULL, *data = NULL, *line, *save = NULL;
        size_t len, lineno = 0;
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s: envs[%zu]: must be a path", where, i);
        if ((rc = path_join(&path, dir, json_string_value(v))) < 0 ||
            (rc = render_fs_read(z->fs, path, &data, &len)) < 0) {
            err_prefix(rc, "%s: envs[%zu]", where, i);
            free(path);
            return rc;
        }
        for (line = strtok_r(data, "\n", &save); line && rc == 0;
             line = strtok_r(NULL, "\n", &save)) {
            char *eq, *k;
            size_t n;
            lineno++;
            n = strlen(line);
            if (n && line[n - 1] == '\r')
                line[--n] = '\0';
            while (*line == ' ' || *line == '\t')
                line++;
            if (!line[0] || line[0] == '#')
                continue;
            eq = strchr(line, '=');
            if (!eq || eq == line) {
                rc = err_set(ERR_INVALID, "%s: %s: line %zu: must be KEY=VALUE", where, path,
                             lineno);
                break;
            }
            k = xstrndup(line, (size_t)(eq - line));
            kz_gen_put(obj, secret, k, eq + 1, strlen(eq + 1));
            free(k);
        }
        free(path);
        free(data);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Merge labels/annotations maps from src into obj's metadata.field. */
static void kz_meta_merge(json_t *obj, const char *field, const json_t *src)
{
    json_t *meta = json_object_get(obj, "metadata"), *m;
    if (!json_is_object(src) || json_object_size(src) == 0)
        return;
    m = json_object_get(meta, field);
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(meta, field, m);
    }
    json_object_update(m, (json_t *)src);
}

static int kz_generators(struct kz *z, const char *dir, const char *file, const json_t *k,
                         struct kz_set *set)
{
    static const char *const fields[] = {"configMapGenerator", "secretGenerator"};
    const json_t *gopts = json_object_get(k, "generatorOptions");
    int rc = 0;

    if (gopts && !json_is_object(gopts) && !json_is_null(gopts))
        return err_set(ERR_INVALID, "%s: generatorOptions: must be a mapping", file);
    if ((rc = kz_string_map(json_object_get(gopts, "labels"), file, "generatorOptions.labels")) <
            0 ||
        (rc = kz_string_map(json_object_get(gopts, "annotations"), file,
                            "generatorOptions.annotations")) < 0)
        return rc;
    for (int f = 0; f < 2; f++) {
        const json_t *list, *g;
        size_t i;
        int secret = f == 1;

        if ((rc = kz_list(k, fields[f], file, &list)) < 0)
            return rc;
        json_array_foreach(list, i, g)
        {
            char *where = xasprintf("%s: %s[%zu]", file, fields[f], i);
            const char *name = NULL, *ns = NULL, *behavior = NULL, *type = NULL;
            const json_t *opts = json_object_get(g, "options"), *l;
            json_t *obj;
            int nohash, immutable;
            size_t j;
            long found = -1;

            if (!json_is_object(g)) {
                rc = err_set(ERR_INVALID, "%s: must be a mapping", where);
                free(where);
                return rc;
            }
            if ((rc = kz_str(g, "name", where, &name)) < 0 ||
                (rc = kz_str(g, "namespace", where, &ns)) < 0 ||
                (rc = kz_str(g, "behavior", where, &behavior)) < 0 ||
                (rc = kz_str(g, "type", where, &type)) < 0 ||
                (rc = kz_string_map(json_object_get(opts, "labels"), where, "options.labels")) <
                    0 ||
                (rc = kz_string_map(json_object_get(opts, "annotations"), where,
                                    "options.annotations")) < 0) {
                free(where);
                return rc;
            }
            if (!name) {
                rc = err_set(ERR_INVALID, "%s: name: missing", where);
                free(where);
                return rc;
            }
            if (behavior && strcmp(behavior, "create") && strcmp(behavior, "merge") &&
                strcmp(behavior, "replace")) {
                rc = err_set(ERR_INVALID, "%s: behavior: must be create, merge or replace", where);
                free(where);
                return rc;
            }
            obj = secret ? json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                                     "metadata", "name", name)
                         : json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                                     "metadata", "name", name);
            if (ns)
                json_object_set_new(json_object_get(obj, "metadata"), "namespace", json_string(ns));
            if (secret)
                json_object_set_new(obj, "type", json_string(type ? type : "Opaque"));
            rc = 0;
            if ((l = json_object_get(g, "literals")) && json_is_array(l))
                rc = kz_gen_literals(obj, secret, l, where);
            if (rc == 0 && (l = json_object_get(g, "files")) && json_is_array(l))
                rc = kz_gen_files(z, dir, obj, secret, l, where);
            if (rc == 0 && (l = json_object_get(g, "envs")) && json_is_array(l))
                rc = kz_gen_envs(z, dir, obj, secret, l, where);
            if (rc == 0 && json_is_string(json_object_get(g, "env"))) {
                json_t *one = json_pack("[O]", json_object_get(g, "env"));
                rc = kz_gen_envs(z, dir, obj, secret, one, where);
                json_decref(one);
            }
            if (rc < 0) {
                json_decref(obj);
                free(where);
                return rc;
            }
            kz_meta_merge(obj, "labels", json_object_get(gopts, "labels"));
            kz_meta_merge(obj, "annotations", json_object_get(gopts, "annotations"));
            kz_meta_merge(obj, "labels", json_object_get(opts, "labels"));
            kz_meta_merge(obj, "annotations", json_object_get(opts, "annotations"));
            /* either level can turn the hash off; false does not turn it back on */
            nohash = json_is_true(json_object_get(gopts, "disableNameSuffixHash")) ||
                     json_is_true(json_object_get(opts, "disableNameSuffixHash"));
            immutable = json_is_true(json_object_get(gopts, "immutable")) ||
                        json_is_true(json_object_get(opts, "immutable"));
            if (immutable)
                json_object_set_new(obj, "immutable", json_true());
            if (!json_object_get(obj, "data") && !json_object_get(obj, "binaryData") && secret)
                json_object_set_new(obj, "data", json_object());
            for (j = 0; j < set->n; j++) {
                struct kz_res *r = &set->v[j];
                if (!strcmp(kz_kind(r), secret ? "Secret" : "ConfigMap") && kz_had_name(r, name) &&
                    (!ns || !strcmp(kz_ns(r), ns))) {
                    found = (long)j;
                    break;
                }
            }
            if (!behavior || !strcmp(behavior, "create")) {
                if (found >= 0) {
                    rc = err_set(ERR_INVALID,
                                 "%s: %s %s already exists; use behavior: merge or replace", where,
                                 secret ? "Secret" : "ConfigMap", name);
                    json_decref(obj);
                    free(where);
                    return rc;
                }
                kz_set_add(set, obj, !nohash);
            } else {
                struct kz_res *r;
                if (found < 0) {
                    rc = err_set(ERR_NOTFOUND, "%s: behavior %s: no %s %s to %s", where, behavior,
                                 secret ? "Secret" : "ConfigMap", name, behavior);
                    json_decref(obj);
                    free(where);
                    return rc;
                }
                r = &set->v[found];
                if (!strcmp(behavior, "merge")) {
                    static const char *const maps[] = {"data", "binaryData"};
                    for (int m = 0; m < 2; m++) {
                        json_t *src = json_object_get(obj, maps[m]);
                        json_t *dst = json_object_get(r->obj, maps[m]);
                        if (!src)
                            continue;
                        if (!json_is_object(dst)) {
                            dst = json_object();
                            json_object_set_new(r->obj, maps[m], dst);
                        }
                        json_object_update(dst, src);
                    }
                } else {
                    json_object_del(r->obj, "data");
                    json_object_del(r->obj, "binaryData");
                    if (json_object_get(obj, "data"))
                        json_object_set(r->obj, "data", json_object_get(obj, "data"));
                    if (json_object_get(obj, "binaryData"))
                        json_object_set(r->obj, "binaryData", json_object_get(obj, "binaryData"));
                }
                kz_meta_merge(r->obj, "labels", doc_get(obj, "metadata.labels"));
                kz_meta_merge(r->obj, "annotations", doc_get(obj, "metadata.annotations"));
                if (immutable)
                    json_object_set_new(r->obj, "immutable", json_true());
                if (nohash)
                    r->needs_hash = 0;
                json_decref(obj);
            }
            free(where);
        }
    }
    return 0;
}

/* ---- selecting resources ---- */

struct kz_target {
    const char *group, *version, *kind, *name, *ns, *labels, *annotations;
    int has_group;
};

static int kz_regex_full(const char *pattern, const char *s, const char *where, int *match)
{
    regex_t re;
    regmatch_t m;
    char *anchored = xasprintf("^(%s)$", pattern);
    int rc = regcomp(&re, anchored, REG_EXTENDED);

    free(anchored);
    if (rc != 0)
        return err_set(ERR_INVALID, "%s: \"%s\" is not a valid regular expression", where, pattern);
    *match = regexec(&re, s, 1, &m, 0) == 0;
    regfree(&re);
    return 0;
}

/* Equality-based selector "a=b,c!=d,e" against a map. */
static int kz_selector_match(const char *sel, const json_t *map)
{
    char *copy = xstrdup(sel), *save = NULL, *term;
    int ok = 1;

    for (term = strtok_r(copy, ",", &save); term && ok; term = strtok_r(NULL, ",", &save)) {
        char *neq = strstr(term, "!="), *eq = neq ? NULL : strchr(term, '=');
        const char *have;
        while (*term == ' ')
            term++;
        if (neq) {
            *neq = '\0';
            have = json_string_value(json_object_get(map, term));
            ok = !have || strcmp(have, neq + 2) != 0;
        } else if (eq) {
            char *val = eq + 1;
            if (*val == '=')
                val++;
            *eq = '\0';
            have = json_string_value(json_object_get(map, term));
            ok = have && !strcmp(have, val);
        } else if (term[0] == '!') {
            ok = json_object_get(map, term + 1) == NULL;
        } else {
            ok = json_object_get(map, term) != NULL;
        }
    }
    free(copy);
    return ok;
}

static int kz_selected(const struct kz_res *r, const struct kz_target *t, const char *where,
                       int *out)
{
    const char *av = doc_get_str(r->obj, "apiVersion");
    const char *slash = av ? strchr(av, '/') : NULL;
    char group[256];
    int m = 1, rc;
    json_t *v;
    size_t i;

    *out = 0;
    kz_group(av, group, sizeof(group));
    if (t->has_group && strcmp(group, t->group ? t->group : ""))
        return 0;
    if (t->version && strcmp(slash ? slash + 1 : (av ? av : ""), t->version))
        return 0;
    if (t->kind && strcmp(kz_kind(r), t->kind))
        return 0;
    if (t->ns && (rc = kz_regex_full(t->ns, kz_ns(r), where, &m)) < 0)
        return rc;
    if (!m)
        return 0;
    if (t->name) {
        if ((rc = kz_regex_full(t->name, kz_name(r), where, &m)) < 0)
            return rc;
        json_array_foreach(r->names, i, v)
        {
            if (!m && (rc = kz_regex_full(t->name, json_string_value(v), where, &m)) < 0)
                return rc;
        }
        if (!m)
            return 0;
    }
    if (t->labels && !kz_selector_match(t->labels, doc_get(r->obj, "metadata.labels")))
        return 0;
    if (t->annotations &&
        !kz_selector_match(t->annotations, doc_get(r->obj, "metadata.annotations")))
        return 0;
    *out = 1;
    return 0;
}

static int kz_parse_target(const json_t *t, const char *where, struct kz_target *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(t))
        return err_set(ERR_INVALID, "%s: target: must be a mapping", where);
    out->has_group = json_object_get(t, "group") != NULL;
    if ((rc = kz_str(t, "group", where, &out->group)) < 0 ||
        (rc = kz_str(t, "version", where, &out->version)) < 0 ||
        (rc = kz_str(t, "kind", where, &out->kind)) < 0 ||
        (rc = kz_str(t, "name", where, &out->name)) < 0 ||
        (rc = kz_str(t, "namespace", where, &out->ns)) < 0 ||
        (rc = kz_str(t, "labelSelector", where, &out->labels)) < 0 ||
        (rc = kz_str(t, "annotationSelector", where, &out->annotations)) < 0)
        return rc;
    return 0;
}

/* ---- patches ---- */

/* Apply one patch document (a strategic merge patch object, or a JSON
 * 6902 list) to every selected resource (target NULL: the resources the
 * patch names itself, by group, kind, name and namespace). */
static int kz_apply_patch(struct kz_set *set, const json_t *patch, const struct kz_target *target,
                          const char *where)
{
    struct kz_target self;
    const struct kz_target *t = target;
    size_t i, hits = 0;
    int rc, json6902 = json_is_array(patch);
    char group[256];

    if (!json6902 && !json_is_object(patch))
        return err_set(ERR_INVALID, "%s: a patch must be a mapping or a list of operations", where);
    if (json6902 && !doc_patch_json_well_formed(patch))
        return err_set(ERR_INVALID, "%s: a JSON patch must be a list of operations", where);
    if (!t) {
        const char *av = doc_get_str(patch, "apiVersion");
        if (json6902)
            return err_set(ERR_INVALID, "%s: a JSON 6902 patch needs a target", where);
        memset(&self, 0, sizeof(self));
        self.kind = doc_get_str(patch, "kind");
        self.name = doc_get_str(patch, "metadata.name");
        self.ns = doc_get_str(patch, "metadata.namespace");
        if (!self.kind || !self.name || !av)
            return err_set(ERR_INVALID,
                           "%s: a patch without a target needs apiVersion, kind and "
                           "metadata.name",
                           where);
        kz_group(av, group, sizeof(group));
        self.group = group;
        self.has_group = 1;
        t = &self;
    }
    for (i = 0; i < set->n; i++) {
        struct kz_res *r = &set->v[i];
        int sel;
        if (!target) {
            /* exact names here, not expressions */
            char g2[256];
            kz_group(doc_get_str(r->obj, "apiVersion"), g2, sizeof(g2));
            sel = !strcmp(g2, t->group) && !strcmp(kz_kind(r), t->kind) &&
                  kz_had_name(r, t->name) && (!t->ns || !strcmp(kz_ns(r), t->ns));
        } else if ((rc = kz_selected(r, t, where, &sel)) < 0) {
            return rc;
        }
        if (!sel)
            continue;
        hits++;
        if (json6902) {
            json_t *copy = json_deep_copy(r->obj);
            if ((rc = doc_patch_json(&copy, patch)) < 0) {
                json_decref(copy);
                return err_prefix(rc, "%s: %s %s", where, kz_kind(r), kz_name(r));
            }
            if (!json_is_object(copy)) {
                json_decref(copy);
                return err_set(ERR_INVALID, "%s: the patch leaves no object", where);
            }
            json_decref(r->obj);
            r->obj = copy;
        } else {
            json_t *p = json_deep_copy(patch);
            const char *keep = kz_name(r);
            char *name = xstrdup(keep);
            /* the patch's own name and kind say what to patch, not what to
             * become */
            if (target) {
                json_object_del(p, "apiVersion");
                json_object_del(p, "kind");
                if (json_is_object(json_object_get(p, "metadata")))
                    json_object_del(json_object_get(p, "metadata"), "name");
            } else if (json_is_object(json_object_get(p, "metadata"))) {
                json_object_set_new(json_object_get(p, "metadata"), "name", json_string(name));
            }
            rc = doc_patch_strategic(r->obj, p, doc_get_str(r->obj, "apiVersion"), kz_kind(r));
            json_decref(p);
            free(name);
            if (rc < 0)
                return err_prefix(rc, "%s: %s %s", where, kz_kind(r), kz_name(r));
            if (json_is_object(r->obj) && json_object_size(r->obj) == 0) {
                /* $patch: delete on the whole object removes it */
                json_decref(r->obj);
                json_decref(r->names);
                memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(*set->v));
                set->n--;
                i--;
            }
        }
    }
    if (!target && hits == 0)
        return err_set(ERR_NOTFOUND, "%s: no resource %s %s%s%s to patch", where, t->kind,
                       t->ns ? t->ns : "", t->ns ? "/" : "", t->name);
    return 0;
}

/* The documents of a patch given inline (`patch: |`) or by path, typed as
 * kustomize types them: a strategic merge patch by yaml.v3 (v3 = 1), a
 * JSON 6902 patch (a list; patchesJson6902 passes v3 = 0) by kubectl's
 * YAML reader. */
static int kz_patch_docs(struct kz *z, const char *dir, const json_t *item, const char *where,
                         int v3, json_t **out)
{
    const char *inline_text = json_string_value(json_object_get(item, "patch"));
    const char *path = json_string_value(json_object_get(item, "path"));
    char *full = NULL, *name;
    int rc;

    *out = NULL;
    if (inline_text && path)
        return err_set(ERR_INVALID, "%s: give either path or patch, not both", where);
    if (inline_text) {
        name = xasprintf("%s (inline patch)", where);
        rc = doc_parse_yaml(out, inline_text, strlen(inline_text), name, v3 ? &kz_v3_limits : NULL);
        if (rc == 0 && v3 && json_is_array(json_array_get(*out, 0))) {
            json_decref(*out);
            rc = doc_parse_yaml(out, inline_text, strlen(inline_text), name, NULL);
        }
        free(name);
        return rc;
    }
    if (!path)
        return err_set(ERR_INVALID, "%s: needs path or patch", where);
    if ((rc = path_join(&full, dir, path)) < 0)
        return err_prefix(rc, "%s: path", where);
    rc = kz_read_docs(z, full, out, v3);
    if (rc == 0 && v3 && json_is_array(json_array_get(*out, 0))) {
        json_decref(*out);
        rc = kz_read_docs(z, full, out, 0);
    }
    free(full);
    return rc;
}

/* A $patch: delete document removes the resource it names. */
static int kz_is_delete(const json_t *p)
{
    const char *d = json_string_value(json_object_get(p, "$patch"));
    return d && !strcmp(d, "delete");
}

static int kz_apply_docs(struct kz_set *set, json_t *docs, const struct kz_target *target,
                         const char *where)
{
    json_t *d;
    size_t i;
    int rc;

    /* a JSON 6902 patch file is one list: the whole stream is one patch */
    if (json_array_size(docs) == 1 && json_is_array(json_array_get(docs, 0)))
        return kz_apply_patch(set, json_array_get(docs, 0), target, where);
    json_array_foreach(docs, i, d)
    {
        if (json_is_null(d))
            continue;
        if (kz_is_delete(d) && !target) {
            /* kustomize deletes the named resource outright */
            json_t *copy = json_deep_copy(d);
            json_object_del(copy, "$patch");
            rc = kz_apply_patch(set, copy, NULL, where);
            json_decref(copy);
            if (rc < 0)
                return rc;
            for (size_t j = 0; j < set->n; j++) {
                struct kz_res *r = &set->v[j];
                if (!strcmp(kz_kind(r), doc_get_str(d, "kind")) &&
                    kz_had_name(r, doc_get_str(d, "metadata.name"))) {
                    json_decref(r->obj);
                    json_decref(r->names);
                    memmove(&set->v[j], &set->v[j + 1], (set->n - j - 1) * sizeof(*set->v));
                    set->n--;
                    break;
                }
            }
            continue;
        }
        if ((rc = kz_apply_patch(set, d, target, where)) < 0)
            return rc;
    }
    return 0;
}

static int kz_patches(struct kz *z, const char *dir, const char *file, const json_t *k,
                      struct kz_set *set)
{
    const json_t *list, *item;
    size_t i;
    int rc;

    if ((rc = kz_list(k, "patchesStrategicMerge", file, &list)) < 0)
        return rc;
    json_array_foreach(list, i, item)
    {
        char *where = xasprintf("%s: patchesStrategicMerge[%zu]", file, i);
        const char *s = json_string_value(item);
        json_t *docs = NULL;
        char *path = NULL;
        if (!s) {
            rc = err_set(ERR_INVALID, "%s: must be a path or a patch", where);
        } else if (strchr(s, '\n') || !strchr(s, '.')) {
            rc = doc_parse_yaml(&docs, s, strlen(s), where, &kz_v3_limits);
        } else if ((rc = path_join(&path, dir, s)) == 0) {
            rc = kz_read_docs(z, path, &docs, 1);
        }
        if (rc == 0)
            rc = kz_apply_docs(set, docs, NULL, where);
        json_decref(docs);
        free(path);
        free(where);
        if (rc < 0)
            return rc;
    }
    if ((rc = kz_list(k, "patches", file, &list)) < 0)
        return rc;
    json_array_foreach(list, i, item)
    {
        char *where = xasprintf("%s: patches[%zu]", file, i);
        const json_t *tj = json_object_get(item, "target");
        struct kz_target t;
        json_t *docs = NULL;
        if (!json_is_object(item))
            rc = err_set(ERR_INVALID, "%s: must be a mapping", where);
        else if (tj && !json_is_null(tj))
            rc = kz_parse_target(tj, where, &t);
        else
            rc = 0;
        if (rc == 0)
            rc = kz_patch_docs(z, dir, item, where, 1, &docs);
        if (rc == 0)
            rc = kz_apply_docs(set, docs, (tj && !json_is_null(tj)) ? &t : NULL, where);
        json_decref(docs);
        free(where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int kz_patches_json6902(struct kz *z, const char *dir, const char *file, const json_t *k,
                               struct kz_set *set)
{
    const json_t *list, *item;
    size_t i;
    int rc;

    if ((rc = kz_list(k, "patchesJson6902", file, &list)) < 0)
        return rc;
    json_array_foreach(list, i, item)
    {
        char *where = xasprintf("%s: patchesJson6902[%zu]", file, i);
        struct kz_target t;
        json_t *docs = NULL;
        rc = kz_parse_target(json_object_get(item, "target"), where, &t);
        if (rc == 0)
            rc = kz_patch_docs(z, dir, item, where, 0, &docs);
        if (rc == 0 && (json_array_size(docs) != 1 || !json_is_array(json_array_get(docs, 0))))
            rc = err_set(ERR_INVALID, "%s: must hold one list of JSON patch operations", where);
        if (rc == 0)
            rc = kz_apply_patch(set, json_array_get(docs, 0), &t, where);
        json_decref(docs);
        free(where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- metadata transformers ---- */

static json_t *kz_child(json_t *obj, const char *key, int create)
{
    json_t *c = json_object_get(obj, key);
    if (!json_is_object(c)) {
        if (!create || !json_is_object(obj))
            return NULL;
        c = json_object();
        json_object_set_new(obj, key, c);
    }
    return c;
}

/* The object at a '/'-separated path under obj, created if asked. */
static json_t *kz_path(json_t *obj, const char *path, int create)
{
    char *copy = xstrdup(path), *save = NULL, *p;
    json_t *cur = obj;
    for (p = strtok_r(copy, "/", &save); p && cur; p = strtok_r(NULL, "/", &save))
        cur = kz_child(cur, p, create);
    free(copy);
    return cur;
}

static void kz_put_map(json_t *obj, const char *path, const json_t *pairs, int create)
{
    json_t *m = kz_path(obj, path, create);
    if (m)
        json_object_update(m, (json_t *)pairs);
}

/* Where labels go for each kind: (path, create) pairs; selectors apart
 * from templates so `labels` can ask for either. */
struct kz_fieldspec {
    const char *kind;
    const char *path;
    int create;
    int selector; /* 1 selector, 0 template */
};

static const struct kz_fieldspec kz_label_specs[] = {
    {"Service", "spec/selector", 1, 1},
    {"ReplicationController", "spec/selector", 1, 1},
    {"ReplicationController", "spec/template/metadata/labels", 1, 0},
    {"Deployment", "spec/selector/matchLabels", 1, 1},
    {"Deployment", "spec/template/metadata/labels", 1, 0},
    {"ReplicaSet", "spec/selector/matchLabels", 1, 1},
    {"ReplicaSet", "spec/template/metadata/labels", 1, 0},
    {"DaemonSet", "spec/selector/matchLabels", 1, 1},
    {"DaemonSet", "spec/template/metadata/labels", 1, 0},
    {"StatefulSet", "spec/selector/matchLabels", 1, 1},
    {"StatefulSet", "spec/template/metadata/labels", 1, 0},
    {"Job", "spec/selector/matchLabels", 0, 1},
    {"Job", "spec/template/metadata/labels", 1, 0},
    {"CronJob", "spec/jobTemplate/spec/selector/matchLabels", 0, 1},
    {"CronJob", "spec/jobTemplate/metadata/labels", 1, 0},
    {"CronJob", "spec/jobTemplate/spec/template/metadata/labels", 1, 0},
    {"PodDisruptionBudget", "spec/selector/matchLabels", 0, 1},
    {"NetworkPolicy", "spec/podSelector/matchLabels", 0, 1},
};

static void kz_labels_on(struct kz_res *r, const json_t *pairs, int selectors, int templates)
{
    const char *kind = kz_kind(r);
    kz_put_map(r->obj, "metadata/labels", pairs, 1);
    for (size_t i = 0; i < sizeof(kz_label_specs) / sizeof(kz_label_specs[0]); i++) {
        const struct kz_fieldspec *s = &kz_label_specs[i];
        if (strcmp(s->kind, kind) != 0)
            continue;
        if ((s->selector && selectors) || (!s->selector && templates))
            kz_put_map(r->obj, s->path, pairs, s->create);
    }
    if (selectors && !strcmp(kind, "StatefulSet")) {
        json_t *vcts = doc_get(r->obj, "spec.volumeClaimTemplates"), *v;
        size_t i;
        json_array_foreach(vcts, i, v) kz_put_map(v, "metadata/labels", pairs, 1);
    }
}

static const char *const kz_template_annotation_paths[][2] = {
    {"Deployment", "spec/template/metadata/annotations"},
    {"ReplicaSet", "spec/template/metadata/annotations"},
    {"DaemonSet", "spec/template/metadata/annotations"},
    {"StatefulSet", "spec/template/metadata/annotations"},
    {"Job", "spec/template/metadata/annotations"},
    {"ReplicationController", "spec/template/metadata/annotations"},
    {"CronJob", "spec/jobTemplate/metadata/annotations"},
    {"CronJob", "spec/jobTemplate/spec/template/metadata/annotations"},
};

static int kz_labels(const char *file, const json_t *k, struct kz_set *set)
{
    const json_t *common = json_object_get(k, "commonLabels"), *labels, *l;
    const json_t *ann = json_object_get(k, "commonAnnotations");
    size_t i, j;
    int rc;

    if ((rc = kz_string_map(common, file, "commonLabels")) < 0 ||
        (rc = kz_string_map(ann, file, "commonAnnotations")) < 0 ||
        (rc = kz_list(k, "labels", file, &labels)) < 0)
        return rc;
    if (json_object_size(common) > 0)
        for (i = 0; i < set->n; i++)
            kz_labels_on(&set->v[i], common, 1, 1);
    json_array_foreach(labels, j, l)
    {
        char *where = xasprintf("%s: labels[%zu]", file, j);
        const json_t *pairs = json_object_get(l, "pairs");
        if ((rc = kz_string_map(pairs, where, "pairs")) < 0) {
            free(where);
            return rc;
        }
        if (json_object_get(l, "fields")) {
            rc = err_set(ERR_UNSUPPORTED,
                         "%s: fields: not supported by edgecd's built-in "
                         "Kustomize",
                         where);
            free(where);
            return rc;
        }
        free(where);
        if (json_object_size(pairs) == 0)
            continue;
        for (i = 0; i < set->n; i++) {
            int sel = json_is_true(json_object_get(l, "includeSelectors"));
            int tmpl = sel || json_is_true(json_object_get(l, "includeTemplates"));
            kz_labels_on(&set->v[i], pairs, sel, tmpl);
        }
    }
    if (json_object_size(ann) > 0) {
        for (i = 0; i < set->n; i++) {
            struct kz_res *r = &set->v[i];
            kz_put_map(r->obj, "metadata/annotations", ann, 1);
            for (j = 0;
                 j < sizeof(kz_template_annotation_paths) / sizeof(kz_template_annotation_paths[0]);
                 j++)
                if (!strcmp(kz_template_annotation_paths[j][0], kz_kind(r)))
                    kz_put_map(r->obj, kz_template_annotation_paths[j][1], ann, 1);
        }
    }
    return 0;
}

static void kz_namespace(const char *ns, struct kz_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct kz_res *r = &set->v[i];
        const char *kind = kz_kind(r);
        if (!kz_cluster_scoped(kind))
            json_object_set_new(json_object_get(r->obj, "metadata"), "namespace", json_string(ns));
        if (!strcmp(kind, "RoleBinding") || !strcmp(kind, "ClusterRoleBinding")) {
            json_t *subjects = json_object_get(r->obj, "subjects"), *s;
            size_t j;
            json_array_foreach(subjects, j, s)
            {
                const char *sk = doc_get_str(s, "kind");
                if (sk && !strcmp(sk, "ServiceAccount"))
                    json_object_set_new(s, "namespace", json_string(ns));
            }
        }
    }
}

static void kz_prefix_suffix(const char *prefix, const char *suffix, struct kz_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct kz_res *r = &set->v[i];
        char *name;
        if (!strcmp(kz_kind(r), "CustomResourceDefinition") || !strcmp(kz_kind(r), "Namespace"))
            continue;
        name = xasprintf("%s%s%s", prefix ? prefix : "", kz_name(r), suffix ? suffix : "");
        kz_rename(r, name);
        free(name);
    }
}

/* ---- replicas and images ---- */

static int kz_replicas(const char *file, const json_t *k, struct kz_set *set)
{
    static const char *const kinds[] = {"Deployment", "ReplicaSet", "StatefulSet",
                                        "ReplicationController"};
    const json_t *list, *item;
    size_t i, j;
    int rc;

    if ((rc = kz_list(k, "replicas", file, &list)) < 0)
        return rc;
    json_array_foreach(list, i, item)
    {
        const char *name = doc_get_str(item, "name");
        const json_t *count = json_object_get(item, "count");
        if (!name || !json_is_integer(count) || json_integer_value(count) < 0)
            return err_set(ERR_INVALID, "%s: replicas[%zu]: needs name and a whole count", file, i);
        for (j = 0; j < set->n; j++) {
            struct kz_res *r = &set->v[j];
            int match = 0;
            for (size_t q = 0; q < 4; q++)
                match |= !strcmp(kz_kind(r), kinds[q]);
            if (match && kz_had_name(r, name))
                json_object_set_new(kz_child(r->obj, "spec", 1), "replicas",
                                    json_integer(json_integer_value(count)));
        }
    }
    return 0;
}

/* Split an image reference into the name and where the tag or digest
 * starts (or the end). */
static size_t kz_image_name_len(const char *image)
{
    const char *at = strchr(image, '@');
    const char *slash = strrchr(image, '/');
    const char *colon;
    size_t end = at ? (size_t)(at - image) : strlen(image);

    colon = memchr(image + (slash ? slash - image + 1 : 0), ':',
                   end - (size_t)(slash ? slash - image + 1 : 0));
    return colon ? (size_t)(colon - image) : end;
}

static void kz_image_set(json_t *container, const json_t *rule)
{
    const char *image = doc_get_str(container, "image");
    const char *name = doc_get_str(rule, "name");
    const char *new_name = doc_get_str(rule, "newName");
    const char *new_tag = doc_get_str(rule, "newTag");
    const char *digest = doc_get_str(rule, "digest");
    size_t nlen;
    char *out;

    if (!image || !name)
        return;
    nlen = kz_image_name_len(image);
    if (strlen(name) != nlen || strncmp(image, name, nlen) != 0)
        return;
    if (digest)
        out = xasprintf("%s@%s", new_name ? new_name : name, digest);
    else if (new_tag)
        out = xasprintf("%s:%s", new_name ? new_name : name, new_tag);
    else
        out = xasprintf("%s%s", new_name ? new_name : name, image + nlen);
    json_object_set_new(container, "image", json_string(out));
    free(out);
}

/* Every containers/initContainers list anywhere in v. */
static void kz_images_walk(json_t *v, const json_t *rule, int depth)
{
    const char *key;
    json_t *c;
    size_t i;

    if (depth > 64)
        return;
    if (json_is_array(v)) {
        json_array_foreach(v, i, c) kz_images_walk(c, rule, depth + 1);
        return;
    }
    if (!json_is_object(v))
        return;
    json_object_foreach(v, key, c)
    {
        if ((!strcmp(key, "containers") || !strcmp(key, "initContainers")) && json_is_array(c)) {
            json_t *item;
            json_array_foreach(c, i, item) kz_image_set(item, rule);
        } else {
            kz_images_walk(c, rule, depth + 1);
        }
    }
}

static int kz_images(const char *file, const json_t *k, struct kz_set *set)
{
    const json_t *list, *rule;
    size_t i, j;
    int rc;

    if ((rc = kz_list(k, "images", file, &list)) < 0)
        return rc;
    json_array_foreach(list, i, rule)
    {
        const json_t *tag = json_object_get(rule, "newTag");
        if (!doc_get_str(rule, "name"))
            return err_set(ERR_INVALID, "%s: images[%zu].name: missing", file, i);
        if (tag && !json_is_string(tag))
            return err_set(ERR_INVALID, "%s: images[%zu].newTag: must be a string (quote it)", file,
                           i);
        for (j = 0; j < set->n; j++)
            kz_images_walk(set->v[j].obj, rule, 0);
    }
    return 0;
}

/* ---- one kustomization ---- */

static int kz_transform(struct kz *z, const char *dir, const char *file, const json_t *k,
                        struct kz_set *set)
{
    const char *ns = NULL, *prefix = NULL, *suffix = NULL;
    int rc;

    if ((rc = kz_patches(z, dir, file, k, set)) < 0)
        return rc;
    if ((rc = kz_str(k, "namespace", file, &ns)) < 0 ||
        (rc = kz_str(k, "namePrefix", file, &prefix)) < 0 ||
        (rc = kz_str(k, "nameSuffix", file, &suffix)) < 0)
        return rc;
    if (ns)
        kz_namespace(ns, set);
    if (prefix || suffix)
        kz_prefix_suffix(prefix, suffix, set);
    if ((rc = kz_labels(file, k, set)) < 0)
        return rc;
    if ((rc = kz_patches_json6902(z, dir, file, k, set)) < 0)
        return rc;
    if ((rc = kz_replicas(file, k, set)) < 0)
        return rc;
    return kz_images(file, k, set);
}

/* Application-level overrides (spec.source.kustomize), merged into the
 * root kustomization as `kustomize edit` would write them. */
static int kz_overrides(json_t *k, const json_t *o)
{
    static const char *const strs[] = {"namePrefix", "nameSuffix", "namespace"};
    const json_t *v;
    size_t i;

    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return err_set(ERR_INVALID, "spec.source.kustomize: must be a mapping");
    for (i = 0; i < 3; i++) {
        v = json_object_get(o, strs[i]);
        if (v && !json_is_string(v))
            return err_set(ERR_INVALID, "spec.source.kustomize.%s: must be a string", strs[i]);
        if (v && json_string_value(v)[0])
            json_object_set(k, strs[i], (json_t *)v);
    }
    for (i = 0; i < 2; i++) {
        const char *f = i ? "commonAnnotations" : "commonLabels";
        json_t *dst;
        v = json_object_get(o, f);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_object(v))
            return err_set(ERR_INVALID, "spec.source.kustomize.%s: must be a mapping", f);
        dst = json_object_get(k, f);
        if (!json_is_object(dst)) {
            dst = json_object();
            json_object_set_new(k, f, dst);
        }
        json_object_update(dst, (json_t *)v);
    }
    v = json_object_get(o, "images");
    if (v && !json_is_null(v)) {
        json_t *list = json_object_get(k, "images"), *img;
        if (!json_is_array(v))
            return err_set(ERR_INVALID, "spec.source.kustomize.images: must be a list");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(k, "images", list);
        }
        json_array_foreach(v, i, img)
        {
            /* "name=newName:tag", "name:tag", "name@digest" */
            const char *s = json_string_value(img), *eq, *ref;
            json_t *rule;
            size_t nlen, j;
            if (!s || !s[0])
                return err_set(ERR_INVALID, "spec.source.kustomize.images[%zu]: must be a string",
                               i);
            eq = strchr(s, '=');
            ref = eq ? eq + 1 : s;
            nlen = kz_image_name_len(ref);
            rule = json_object();
            if (eq) {
                json_object_set_new(rule, "name", json_stringn(s, (size_t)(eq - s)));
                json_object_set_new(rule, "newName", json_stringn(ref, nlen));
            } else {
                json_object_set_new(rule, "name", json_stringn(ref, nlen));
            }
            if (ref[nlen] == ':')
                json_object_set_new(rule, "newTag", json_string(ref + nlen + 1));
            else if (ref[nlen] == '@')
                json_object_set_new(rule, "digest", json_string(ref + nlen + 1));
            for (j = 0; j < json_array_size(list); j++)
                if (json_equal(json_object_get(json_array_get(list, j), "name"),
                               json_object_get(rule, "name")))
                    break;
            if (j < json_array_size(list))
                json_array_set_new(list, j, rule);
            else
                json_array_append_new(list, rule);
        }
    }
    v = json_object_get(o, "replicas");
    if (v && !json_is_null(v)) {
        json_t *list = json_object_get(k, "replicas"), *rep;
        if (!json_is_array(v))
            return err_set(ERR_INVALID, "spec.source.kustomize.replicas: must be a list");
        if (!json_is_array(list)) {
            list = json_array();
            json_object_set_new(k, "replicas", list);
        }
        json_array_foreach(v, i, rep)
        {
            const json_t *c = json_object_get(rep, "count");
            json_t *rule;
            long n = -1;
            if (json_is_integer(c))
                n = (long)json_integer_value(c);
            else if (json_is_string(c) &&
                     str_to_long(json_string_value(c), 0, 1000000, "count", &n) < 0)
                n = -1;
            if (!doc_get_str(rep, "name") || n < 0)
                return err_set(ERR_INVALID,
                               "spec.source.kustomize.replicas[%zu]: needs name and a count", i);
            rule =
                json_pack("{s:s, s:I}", "name", doc_get_str(rep, "name"), "count", (json_int_t)n);
            json_array_append_new(list, rule);
        }
    }
    return 0;
}

static int kz_build(struct kz *z, const char *dir, struct kz_set *set, int component,
                    const json_t *overrides)
{
    json_t *docs = NULL, *k;
    const json_t *list;
    const char *kind = NULL;
    char *file = kz_find(z->fs, dir);
    int rc = 0;

    if (!file)
        return err_set(ERR_NOTFOUND, "%s: no kustomization.yaml in %s", render_fs_name(z->fs),
                       dir[0] ? dir : ".");
    if (z->depth >= KZ_MAX_DEPTH || json_object_get(z->visiting, dir)) {
        rc = err_set(ERR_INVALID, "%s: kustomizations include each other in a cycle", file);
        goto out;
    }
    json_object_set_new(z->visiting, dir, json_true());
    z->depth++;
    if ((rc = kz_read_docs(z, file, &docs, 0)) < 0)
        goto out;
    k = json_array_get(docs, 0);
    if (json_array_size(docs) != 1 || !json_is_object(k)) {
        rc = err_set(ERR_INVALID, "%s: must hold one mapping", file);
        goto out;
    }
    if ((rc = kz_overrides(k, overrides)) < 0) {
        err_prefix(rc, "%s", file);
        goto out;
    }
    if ((rc = kz_check_fields(k, file)) < 0 || (rc = kz_str(k, "kind", file, &kind)) < 0)
        goto out;
    if (component != (kind && !strcmp(kind, "Component"))) {
        rc = err_set(ERR_INVALID,
                     component ? "%s: a component must be kind: Component"
                               : "%s: kind Component can only be listed in "
                                 "components",
                     file);
        goto out;
    }
    if ((rc = kz_list(k, "resources", file, &list)) < 0 ||
        (rc = kz_resources(z, dir, file, list, "resources", set)) < 0 ||
        (rc = kz_list(k, "bases", file, &list)) < 0 ||
        (rc = kz_resources(z, dir, file, list, "bases", set)) < 0)
        goto out;
    if ((rc = kz_list(k, "components", file, &list)) < 0)
        goto out;
    {
        const json_t *c;
        size_t i;
        json_array_foreach(list, i, c)
        {
            char *cdir = NULL;
            if (!json_is_string(c)) {
                rc = err_set(ERR_INVALID, "%s: components[%zu]: must be a string", file, i);
                goto out;
            }
            if (kz_is_remote(json_string_value(c))) {
                rc = err_set(ERR_UNSUPPORTED,
                             "%s: components[%zu]: remote component \"%s\" is not supported", file,
                             i, json_string_value(c));
                goto out;
            }
            if ((rc = path_join(&cdir, dir, json_string_value(c))) < 0) {
                err_prefix(rc, "%s: components[%zu]", file, i);
                goto out;
            }
            rc = kz_build(z, cdir, set, 1, NULL);
            free(cdir);
            if (rc < 0)
                goto out;
        }
    }
    if ((rc = kz_generators(z, dir, file, k, set)) < 0)
        goto out;
    rc = kz_transform(z, dir, file, k, set);
out:
    if (rc == 0 || json_object_get(z->visiting, dir)) {
        json_object_del(z->visiting, dir);
        z->depth--;
    }
    json_decref(docs);
    free(file);
    return rc;
}

/* ---- name references ---- */

/* A field that names another object: in objects of kind `in` (NULL: pod
 * templates anywhere), at path (with [] for every list item), naming an
 * object of kind `of`. */
struct kz_ref {
    const char *of;
    const char *path;
};

/* Paths below a pod spec. */
static const struct kz_ref kz_pod_refs[] = {
    {"ConfigMap", "volumes[]/configMap/name"},
    {"ConfigMap", "volumes[]/projected/sources[]/configMap/name"},
    {"ConfigMap", "containers[]/env[]/valueFrom/configMapKeyRef/name"},
    {"ConfigMap", "initContainers[]/env[]/valueFrom/configMapKeyRef/name"},
    {"ConfigMap", "containers[]/envFrom[]/configMapRef/name"},
    {"ConfigMap", "initContainers[]/envFrom[]/configMapRef/name"},
    {"Secret", "volumes[]/secret/secretName"},
    {"Secret", "volumes[]/projected/sources[]/secret/name"},
    {"Secret", "containers[]/env[]/valueFrom/secretKeyRef/name"},
    {"Secret", "initContainers[]/env[]/valueFrom/secretKeyRef/name"},
    {"Secret", "containers[]/envFrom[]/secretRef/name"},
    {"Secret", "initContainers[]/envFrom[]/secretRef/name"},
    {"Secret", "imagePullSecrets[]/name"},
    {"ServiceAccount", "serviceAccountName"},
    {"ServiceAccount", "serviceAccount"},
    {"PersistentVolumeClaim", "volumes[]/persistentVolumeClaim/claimName"},
};

static const char *kz_pod_spec_path(const char *kind)
{
    if (!strcmp(kind, "Pod"))
        return "spec";
    if (!strcmp(kind, "Deployment") || !strcmp(kind, "ReplicaSet") ||
        !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet") || !strcmp(kind, "Job") ||
        !strcmp(kind, "ReplicationController"))
        return "spec/template/spec";
    if (!strcmp(kind, "CronJob"))
        return "spec/jobTemplate/spec/template/spec";
    return NULL;
}

/* Object-level references: in kind `in`, at path. */
static const struct {
    const char *in, *of, *path;
} kz_obj_refs[] = {
    {"Ingress", "Service", "spec/rules[]/http/paths[]/backend/service/name"},
    {"Ingress", "Service", "spec/defaultBackend/service/name"},
    {"Ingress", "Secret", "spec/tls[]/secretName"},
    {"StatefulSet", "Service", "spec/serviceName"},
    {"ServiceAccount", "Secret", "secrets[]/name"},
    {"ServiceAccount", "Secret", "imagePullSecrets[]/name"},
    {"RoleBinding", "ServiceAccount", "subjects[]/name"},
    {"ClusterRoleBinding", "ServiceAccount", "subjects[]/name"},
    {"RoleBinding", "Role", "roleRef/name"},
    {"RoleBinding", "ClusterRole", "roleRef/name"},
    {"ClusterRoleBinding", "ClusterRole", "roleRef/name"},
    {"HorizontalPodAutoscaler", "Deployment", "spec/scaleTargetRef/name"},
    {"HorizontalPodAutoscaler", "StatefulSet", "spec/scaleTargetRef/name"},
};

struct kz_fix {
    struct kz_set *set;
    const struct kz_res *referrer;
    const char *of;
};

/* The referral of kind of named name (any of its names), preferring one
 * in ns. */
static const struct kz_res *kz_referral(const struct kz_set *set, const char *of, const char *name,
                                        const char *ns)
{
    const struct kz_res *any = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const struct kz_res *r = &set->v[i];
        if (strcmp(kz_kind(r), of) != 0 || !kz_had_name(r, name))
            continue;
        if (!strcmp(kz_ns(r), ns) || kz_cluster_scoped(of))
            return r;
        if (!any)
            any = r;
    }
    return any && !ns[0] ? any : NULL;
}

/* Rewrite the string at path under v, where the parent object may say
 * which kind it names (roleRef.kind, subjects[].kind). */
static void kz_fix_path(struct kz_fix *f, json_t *v, const char *path, int depth)
{
    const char *slash = strchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    char key[128];
    int each = n > 2 && path[n - 2] == '[' && path[n - 1] == ']';
    json_t *c;

    if (!json_is_object(v) || depth > 16 || n >= sizeof(key))
        return;
    memcpy(key, path, each ? n - 2 : n);
    key[each ? n - 2 : n] = '\0';
    c = json_object_get(v, key);
    if (!c)
        return;
    if (!slash) {
        const char *kind = doc_get_str(v, "kind");
        const struct kz_res *r;
        const char *ns = doc_get_str(v, "namespace");
        if (!json_is_string(c))
            return;
        /* roleRef and subjects say what they name */
        if (kind && strcmp(kind, f->of) != 0)
            return;
        r = kz_referral(f->set, f->of, json_string_value(c), ns ? ns : kz_ns(f->referrer));
        if (r && strcmp(kz_name(r), json_string_value(c)) != 0)
            json_object_set_new(v, key, json_string(kz_name(r)));
        return;
    }
    if (each) {
        size_t i;
        json_t *item;
        json_array_foreach(c, i, item) kz_fix_path(f, item, slash + 1, depth + 1);
    } else {
        kz_fix_path(f, c, slash + 1, depth + 1);
    }
}

static void kz_fix_references(struct kz_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct kz_res *r = &set->v[i];
        const char *pod = kz_pod_spec_path(kz_kind(r));
        struct kz_fix f = {set, r, NULL};
        size_t j;

        if (pod) {
            json_t *spec = kz_path(r->obj, pod, 0);
            for (j = 0; spec && j < sizeof(kz_pod_refs) / sizeof(kz_pod_refs[0]); j++) {
                f.of = kz_pod_refs[j].of;
                kz_fix_path(&f, spec, kz_pod_refs[j].path, 0);
            }
        }
        for (j = 0; j < sizeof(kz_obj_refs) / sizeof(kz_obj_refs[0]); j++) {
            if (strcmp(kz_obj_refs[j].in, kz_kind(r)) != 0)
                continue;
            f.of = kz_obj_refs[j].of;
            kz_fix_path(&f, r->obj, kz_obj_refs[j].path, 0);
        }
    }
}

/* Build with an external kustomize (or `kubectl kustomize`): the whole
 * repository copied into a private folder (resources may name any folder
 * of it), the Application's overrides written into the root
 * kustomization as `kustomize edit` would, then `BIN build src/DIR`. */
static int kz_external(json_t **out_objects, render_fs *fs, const char *dir,
                       const json_t *overrides, const struct render_request *req)
{
    char *bin = NULL, *work = NULL, *src = NULL, *target = NULL, *label = NULL;
    const char *base;
    int rc;

    if ((rc = render_tool_find(req->kustomize_binary, "kustomize", "kustomizeBinary",
                               "no kustomize binary", &bin)) < 0)
        return rc;
    if ((rc = fs_temp_dir(&work, "edgecd-kustomize")) < 0)
        goto out;
    src = xasprintf("%s/src", work);
    if ((rc = render_tool_copy(fs, "", src)) < 0)
        goto out;
    if (overrides && json_object_size(overrides)) {
        struct kz z = {fs, NULL, 0};
        char *file = kz_find(fs, dir), *disk;
        json_t *docs = NULL;
        struct buf text = BUF_INIT;
        if (!file) {
            rc = err_set(ERR_NOTFOUND, "no kustomization.yaml in %s", dir[0] ? dir : ".");
            goto out;
        }
        if ((rc = kz_read_docs(&z, file, &docs, 0)) == 0 &&
            (rc = kz_overrides(json_array_get(docs, 0), overrides)) == 0) {
            doc_emit_yaml(&text, json_array_get(docs, 0));
            disk = xasprintf("%s/%s", src, file);
            rc = fs_write_atomic(disk, buf_cstr(&text), text.len, 0600);
            free(disk);
        }
        buf_dispose(&text);
        json_decref(docs);
        free(file);
        if (rc < 0)
            goto out;
    }
    target = dir[0] ? xasprintf("src/%s", dir) : xstrdup("src");
    base = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
    label = xasprintf("%s %s", base, strcmp(base, "kubectl") ? "build" : "kustomize");
    {
        char *argv[] = {bin, strcmp(base, "kubectl") ? "build" : "kustomize", target, NULL};
        rc = render_tool_run(argv, work, req->kustomize_timeout_seconds, label, out_objects);
    }
out:
    if (rc < 0)
        err_prefix(rc, "%s: %s", render_fs_name(fs), dir[0] ? dir : ".");
    if (work)
        fs_remove_tree(work);
    free(label);
    free(target);
    free(src);
    free(work);
    free(bin);
    return rc;
}

int render_kustomize(json_t **out_objects, render_fs *fs, const char *dir, const json_t *overrides,
                     const struct render_request *req)
{
    struct kz z = {fs, json_object(), 0};
    struct kz_set set = {0};
    char *clean = NULL;
    json_t *out;
    int rc;

    *out_objects = NULL;
    if ((rc = path_clean(&clean, dir)) < 0)
        goto done;
    if (req && req->kustomize_binary && req->kustomize_binary[0]) {
        if (!overrides || json_is_object(overrides) || json_is_null(overrides))
            rc = kz_external(out_objects, fs, clean, json_is_object(overrides) ? overrides : NULL,
                             req);
        else
            rc = err_set(ERR_INVALID, "spec.source.kustomize: must be a mapping");
        goto done;
    }
    if ((rc = kz_build(&z, clean, &set, 0, overrides)) < 0)
        goto done;
    for (size_t i = 0; i < set.n; i++) {
        struct kz_res *r = &set.v[i];
        if (r->needs_hash) {
            char hash[11], *name;
            render_kustomize_hash(r->obj, hash);
            name = xasprintf("%s-%s", kz_name(r), hash);
            kz_rename(r, name);
            free(name);
        }
    }
    kz_fix_references(&set);
    out = json_array();
    for (size_t i = 0; i < set.n; i++)
        json_array_append(out, set.v[i].obj);
    *out_objects = out;
done:
    kz_set_dispose(&set);
    json_decref(z.visiting);
    free(clean);
    return rc;
}
