/*
 * argocd-cm reader. The ConfigMap is parsed once by the document model;
 * values that are YAML text themselves (resource.customizations,
 * ignoreDifferences, resource.compareoptions) are parsed again from the
 * string, padded with as many blank lines as precede the value in the
 * file, so that YAML errors inside them carry the line of the file, not
 * of the string. The document tree does not remember lines, so the line
 * of a key is found by scanning the text for it (first line that starts
 * with the key, quoted or not, followed by ':'): good enough for messages,
 * never used for meaning.
 *
 * Unknown fields inside the customizations edgecd reads are refused
 * (Argo CD silently drops them): a misspelt `jsonPointer` or `health.Lua`
 * would otherwise do nothing without a word. Unknown ConfigMap keys are
 * Argo CD's other settings and are ignored.
 */
#include "model/settings.h"

#include <stdarg.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define SETTINGS_PREFIX "resource.customizations."
#define SETTINGS_COMBINED "resource.customizations"
#define SETTINGS_COMPARE "resource.compareoptions"

/* The text being parsed, for line look-ups and messages. */
struct settings_text {
    const char *data;
    size_t len;
    const char *source;
};

/* 1-based line of the first line at or after from_line that starts
 * (after blanks) with key, optionally quoted, then blanks and ':'.
 * 0 when none. */
static long settings_key_line(const struct settings_text *t, const char *key, long from_line)
{
    size_t klen = strlen(key), i = 0;
    long line = 1;

    while (i < t->len) {
        size_t j = i, end;
        for (end = i; end < t->len && t->data[end] != '\n'; end++)
            ;
        if (line >= from_line) {
            char quote = 0;
            while (j < end && (t->data[j] == ' ' || t->data[j] == '\t' || t->data[j] == '-'))
                j++;
            if (j < end && (t->data[j] == '"' || t->data[j] == '\''))
                quote = t->data[j++];
            if (end - j >= klen && memcmp(t->data + j, key, klen) == 0) {
                j += klen;
                if (quote && j < end && t->data[j] == quote)
                    j++;
                while (j < end && (t->data[j] == ' ' || t->data[j] == '\t'))
                    j++;
                if (j < end && t->data[j] == ':')
                    return line;
            }
        }
        i = end + 1;
        line++;
    }
    return 0;
}

/* The line a key's value text starts on: the next one for a block scalar
 * (`key: |`), the key's own otherwise. */
static long settings_value_line(const struct settings_text *t, long key_line)
{
    size_t i = 0;
    long line = 1;
    const char *colon;

    if (key_line <= 0)
        return 0;
    while (i < t->len && line < key_line) {
        if (t->data[i++] == '\n')
            line++;
    }
    colon = memchr(t->data + i, ':', t->len - i);
    if (!colon)
        return key_line;
    for (colon++; colon < t->data + t->len && (*colon == ' ' || *colon == '\t'); colon++)
        ;
    if (colon < t->data + t->len && (*colon == '|' || *colon == '>'))
        return key_line + 1;
    return key_line;
}

/* err_set with the "source:line: " prefix (no line when unknown). */
static int settings_fail(const struct settings_text *t, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int settings_fail(const struct settings_text *t, long line, const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        err_set(ERR_INVALID, "%s:%ld: %s", t->source, line, buf_cstr(&msg));
    else
        err_set(ERR_INVALID, "%s: %s", t->source, buf_cstr(&msg));
    buf_dispose(&msg);
    return ERR_INVALID;
}

/* Parse the YAML held in a string value, with the file's line numbers.
 * One document (or none: *out is then NULL). */
static int settings_parse_inner(json_t **out, const struct settings_text *t, const char *value,
                                long value_line, const char *what)
{
    struct buf padded = BUF_INIT;
    json_t *docs = NULL;
    int rc;

    *out = NULL;
    for (long i = 1; i < value_line; i++)
        buf_putc(&padded, '\n');
    buf_puts(&padded, value);
    rc = doc_parse_yaml(&docs, buf_cstr(&padded), padded.len, t->source, NULL);
    buf_dispose(&padded);
    if (rc < 0) {
        char *why = xstrdup(err_last());
        err_set(rc, "%s (in %s)", why, what);
        free(why);
        return rc;
    }
    if (json_array_size(docs) > 1) {
        json_decref(docs);
        return settings_fail(t, value_line, "%s: holds more than one YAML document", what);
    }
    if (json_array_size(docs) == 1)
        *out = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return 0;
}

/* A ConfigMap value that is YAML text itself; *out NULL when empty. */
static int settings_yaml_value(json_t **out, const struct settings_text *t, const json_t *v,
                               long key_line, const char *what)
{
    *out = NULL;
    if (!json_is_string(v))
        return settings_fail(t, key_line, "%s: must be a string of YAML", what);
    return settings_parse_inner(out, t, json_string_value(v), settings_value_line(t, key_line),
                                what);
}

static struct settings_override *settings_get(struct settings *s, const char *group,
                                              const char *kind)
{
    char *key = group[0] ? xasprintf("%s/%s", group, kind) : xstrdup(kind);
    struct settings_override *o;

    for (size_t i = 0; i < s->n_overrides; i++)
        if (!strcmp(s->overrides[i].key, key)) {
            free(key);
            return &s->overrides[i];
        }
    if (s->n_overrides >= SETTINGS_MAX_OVERRIDES) {
        free(key);
        return NULL;
    }
    s->overrides = xrealloc(s->overrides, (s->n_overrides + 1) * sizeof(*s->overrides));
    o = &s->overrides[s->n_overrides++];
    memset(o, 0, sizeof(*o));
    o->key = key;
    o->group = xstrdup(group);
    o->kind = xstrdup(kind);
    return o;
}

/* A list of strings, or null/absent (an empty list). */
static int settings_string_list(json_t **out, const json_t *v)
{
    size_t i;
    const json_t *e;

    *out = json_array();
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return -1;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return -1;
        json_array_append(*out, (json_t *)e);
    }
    return 0;
}

/* ignoreDifferences / ignoreResourceUpdates: a mapping (given as YAML
 * text, or, in the combined form, also as a mapping) of three string
 * lists. *out is always the normalised object. */
static int settings_ignore_diff(json_t **out, const struct settings_text *t, const json_t *v,
                                long line, const char *what)
{
    static const char *const fields[] = {"jsonPointers", "jqPathExpressions",
                                         "managedFieldsManagers"};
    const char *name;
    const json_t *f;

    *out = json_object();
    if (!v || json_is_null(v))
        v = *out;
    if (!json_is_object(v))
        return settings_fail(t, line,
                             "%s: must be a mapping of jsonPointers, jqPathExpressions and "
                             "managedFieldsManagers",
                             what);
    json_object_foreach((json_t *)v, name, f)
    {
        size_t i;
        for (i = 0; i < 3; i++)
            if (!strcmp(name, fields[i]))
                break;
        if (i == 3)
            return settings_fail(t, line,
                                 "%s: %s: unknown field (jsonPointers, jqPathExpressions, "
                                 "managedFieldsManagers)",
                                 what, name);
    }
    for (size_t i = 0; i < 3; i++) {
        json_t *list;
        int rc = settings_string_list(&list, json_object_get(v, fields[i]));
        json_object_set_new(*out, fields[i], list);
        if (rc < 0)
            return settings_fail(t, line, "%s: %s: must be a list of strings", what, fields[i]);
    }
    return 0;
}

/* The value of an ignore-diff field: YAML text, or already a mapping. */
static int settings_ignore_diff_value(json_t **out, const struct settings_text *t, const json_t *v,
                                      long key_line, const char *what)
{
    json_t *parsed = NULL;
    int rc;

    *out = NULL;
    if (!json_is_string(v))
        return settings_ignore_diff(out, t, v, key_line, what);
    if ((rc = settings_yaml_value(&parsed, t, v, key_line, what)) < 0)
        return rc;
    rc = settings_ignore_diff(out, t, parsed, key_line, what);
    json_decref(parsed);
    return rc;
}

static int settings_known_types(json_t **out, const struct settings_text *t, const json_t *v,
                                long line, const char *what)
{
    size_t i;
    const json_t *e;

    *out = json_array();
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return settings_fail(t, line, "%s: must be a list of {field, type}", what);
    json_array_foreach(v, i, e)
    {
        const char *name;
        const json_t *f;
        if (!json_is_object(e))
            return settings_fail(t, line, "%s[%zu]: must be a mapping of field and type", what, i);
        json_object_foreach((json_t *)e, name, f)
        {
            if (strcmp(name, "field") && strcmp(name, "type"))
                return settings_fail(t, line, "%s[%zu].%s: unknown field (field, type)", what, i,
                                     name);
            if (!json_is_string(f))
                return settings_fail(t, line, "%s[%zu].%s: must be a string", what, i, name);
        }
        json_array_append(*out, (json_t *)e);
    }
    return 0;
}

/* Go's strconv.ParseBool, which Argo CD uses for useOpenLibs. */
static int settings_parse_bool(const json_t *v, int *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(json_string_value(v), yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcmp(json_string_value(v), no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static void settings_set_str(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static void settings_set_json(json_t **field, json_t *v)
{
    json_decref(*field);
    *field = v;
}

/* The combined `resource.customizations` key: a mapping of
 * "group/kind" (or "kind") to {health.lua, health.lua.useOpenLibs,
 * actions, ignoreDifferences, ignoreResourceUpdates, knownTypeFields}. */
static int settings_combined(struct settings *s, const struct settings_text *t, const json_t *v,
                             long key_line)
{
    json_t *map = NULL;
    const char *gk;
    json_t *entry;
    int rc;

    if ((rc = settings_yaml_value(&map, t, v, key_line, SETTINGS_COMBINED)) < 0)
        return rc;
    if (map && !json_is_object(map)) {
        json_decref(map);
        return settings_fail(t, key_line, "%s: must be a mapping of \"group/kind\" entries",
                             SETTINGS_COMBINED);
    }
    json_object_foreach(map, gk, entry)
    {
        long line = settings_key_line(t, gk, key_line);
        const char *slash = strchr(gk, '/');
        char *group = slash ? xstrndup(gk, (size_t)(slash - gk)) : xstrdup("");
        const char *kind = slash ? slash + 1 : gk;
        struct settings_override *o;
        const char *field;
        json_t *fv;

        rc = 0;
        if (!kind[0] || strchr(kind, '/') || (slash && !group[0]))
            rc = settings_fail(t, line,
                               "%s: \"%s\": key must be \"group/kind\", or \"kind\" for "
                               "the core group",
                               SETTINGS_COMBINED, gk);
        else if (!json_is_object(entry))
            rc = settings_fail(t, line, "%s: %s: must be a mapping", SETTINGS_COMBINED, gk);
        if (rc < 0) {
            free(group);
            goto out;
        }
        o = settings_get(s, group, kind);
        free(group);
        if (!o) {
            rc = settings_fail(t, line, "more than %d resource customizations",
                               SETTINGS_MAX_OVERRIDES);
            goto out;
        }
        json_object_foreach(entry, field, fv)
        {
            char *what = xasprintf("%s: %s: %s", SETTINGS_COMBINED, gk, field);
            long fline = settings_key_line(t, field, line);
            rc = 0;
            if (!strcmp(field, "health.lua") || !strcmp(field, "actions")) {
                if (!json_is_string(fv)) {
                    rc = settings_fail(t, fline, "%s: must be a string", what);
                } else if (field[0] == 'h') {
                    settings_set_str(&o->health_lua, json_string_value(fv));
                    settings_set_str(&o->health_key, what);
                    o->health_line = settings_value_line(t, fline);
                } else {
                    settings_set_str(&o->actions, json_string_value(fv));
                }
            } else if (!strcmp(field, "health.lua.useOpenLibs")) {
                if (!json_is_boolean(fv))
                    rc = settings_fail(t, fline, "%s: must be true or false", what);
                else
                    o->use_open_libs = json_is_true(fv);
            } else if (!strcmp(field, "ignoreDifferences") ||
                       !strcmp(field, "ignoreResourceUpdates")) {
                json_t *d = NULL;
                rc = settings_ignore_diff_value(&d, t, fv, fline, what);
                if (rc == 0)
                    settings_set_json(
                        field[6] == 'D' ? &o->ignore_differences : &o->ignore_resource_updates, d);
                else
                    json_decref(d);
            } else if (!strcmp(field, "knownTypeFields")) {
                json_t *k = NULL;
                rc = settings_known_types(&k, t, fv, fline, what);
                if (rc == 0)
                    settings_set_json(&o->known_type_fields, k);
                else
                    json_decref(k);
            } else {
                rc = settings_fail(t, fline,
                                   "%s: unknown field (health.lua, health.lua.useOpenLibs, "
                                   "actions, ignoreDifferences, ignoreResourceUpdates, "
                                   "knownTypeFields)",
                                   what);
            }
            free(what);
            if (rc < 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_decref(map);
    return rc;
}

/* resource.customizations.<type>.<group>_<kind> (or .<kind>, or .all) */
static int settings_split(struct settings *s, const struct settings_text *t, const char *key,
                          const json_t *v, long line)
{
    const char *type = key + strlen(SETTINGS_PREFIX);
    const char *dot = strchr(type, '.');
    const char *gk = dot ? dot + 1 : "";
    const char *us = strchr(gk, '_');
    char *tname, *group, *kind;
    struct settings_override *o;
    int rc = 0;

    if (!dot || !gk[0])
        return settings_fail(t, line,
                             "%s: expected resource.customizations.<type>.<group>_<kind> (or "
                             ".<kind> for the core group, or .all)",
                             key);
    if (us && (strchr(us + 1, '_') || !us[1]))
        return settings_fail(t, line, "%s: \"%s\" is not <group>_<kind> or <kind>", key, gk);
    if (us == gk)
        return settings_fail(t, line,
                             "%s: write the core group as the kind alone "
                             "(resource.customizations.%.*s.%s); Argo CD never matches \"_%s\"",
                             key, (int)(dot - type), type, gk + 1, gk + 1);
    if (!strcmp(gk, "all")) {
        group = xstrdup("*");
        kind = xstrdup("*");
    } else if (us) {
        group = xstrndup(gk, (size_t)(us - gk));
        kind = xstrdup(us + 1);
    } else {
        group = xstrdup("");
        kind = xstrdup(gk);
    }
    tname = xstrndup(type, (size_t)(dot - type));
    if (!(o = settings_get(s, group, kind))) {
        rc = settings_fail(t, line, "more than %d resource customizations", SETTINGS_MAX_OVERRIDES);
        goto out;
    }
    if (!strcmp(tname, "useOpenLibs")) {
        if (settings_parse_bool(v, &o->use_open_libs) < 0)
            rc = settings_fail(t, line, "%s: must be true or false", key);
        goto out;
    }
    if (!strcmp(tname, "health") || !strcmp(tname, "actions")) {
        if (!json_is_string(v)) {
            rc = settings_fail(t, line, "%s: must be a string", key);
        } else if (tname[0] == 'h') {
            settings_set_str(&o->health_lua, json_string_value(v));
            settings_set_str(&o->health_key, key);
            o->health_line = settings_value_line(t, line);
        } else {
            settings_set_str(&o->actions, json_string_value(v));
        }
        goto out;
    }
    if (!strcmp(tname, "ignoreDifferences") || !strcmp(tname, "ignoreResourceUpdates") ||
        !strcmp(tname, "knownTypeFields")) {
        json_t *parsed = NULL, *d = NULL;
        if ((rc = settings_yaml_value(&parsed, t, v, line, key)) < 0)
            goto out;
        if (tname[0] == 'k')
            rc = settings_known_types(&d, t, parsed, line, key);
        else
            rc = settings_ignore_diff(&d, t, parsed, line, key);
        json_decref(parsed);
        if (rc < 0) {
            json_decref(d);
            goto out;
        }
        settings_set_json(tname[0] == 'k'   ? &o->known_type_fields
                          : tname[6] == 'D' ? &o->ignore_differences
                                            : &o->ignore_resource_updates,
                          d);
        goto out;
    }
    rc = settings_fail(t, line,
                       "%s: resource customization type \"%s\" is not supported (health, "
                       "useOpenLibs, actions, ignoreDifferences, ignoreResourceUpdates, "
                       "knownTypeFields)",
                       key, tname);
out:
    free(tname);
    free(group);
    free(kind);
    return rc;
}

static int settings_compare(struct settings *s, const struct settings_text *t, const json_t *v,
                            long line)
{
    json_t *opts = NULL;
    const char *name;
    json_t *f;
    int rc;

    if ((rc = settings_yaml_value(&opts, t, v, line, SETTINGS_COMPARE)) < 0)
        return rc;
    if (opts && !json_is_object(opts)) {
        rc = settings_fail(t, line, "%s: must be a mapping", SETTINGS_COMPARE);
        goto out;
    }
    json_object_foreach(opts, name, f)
    {
        if (!strcmp(name, "ignoreAggregatedRoles") ||
            !strcmp(name, "ignoreDifferencesOnResourceUpdates")) {
            if (!json_is_boolean(f)) {
                rc =
                    settings_fail(t, line, "%s: %s: must be true or false", SETTINGS_COMPARE, name);
                goto out;
            }
            if (name[6] == 'A')
                s->compare.ignore_aggregated_roles = json_is_true(f);
            else
                s->compare.ignore_differences_on_resource_updates = json_is_true(f);
        } else if (!strcmp(name, "ignoreResourceStatusField")) {
            const char *val = json_is_string(f) ? json_string_value(f) : NULL;
            if (!val || (strcmp(val, "") && strcmp(val, "crd") && strcmp(val, "all") &&
                         strcmp(val, "off") && strcmp(val, "false"))) {
                rc =
                    settings_fail(t, line, "%s: ignoreResourceStatusField: must be crd, all or off",
                                  SETTINGS_COMPARE);
                goto out;
            }
            settings_set_str(&s->compare.ignore_resource_status_field, !strcmp(val, "false") ? "off"
                                                                       : val[0]              ? val
                                                                                : "crd");
        } else {
            rc = settings_fail(t, line,
                               "%s: %s: unknown field (ignoreAggregatedRoles, "
                               "ignoreResourceStatusField, ignoreDifferencesOnResourceUpdates)",
                               SETTINGS_COMPARE, name);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(opts);
    return rc;
}

int settings_parse(struct settings *out, const char *data, size_t len, const char *source)
{
    struct settings_text t = {data, len, source};
    json_t *docs = NULL, *cm, *d;
    const char *key;
    json_t *v;
    int rc;

    memset(out, 0, sizeof(*out));
    out->source = xstrdup(source);
    out->compare.ignore_resource_status_field = xstrdup("crd");
    if ((rc = doc_parse_yaml(&docs, data, len, source, NULL)) < 0)
        goto out;
    cm = json_array_get(docs, 0);
    if (json_array_size(docs) != 1 || !doc_get_str(cm, "kind") ||
        strcmp(doc_get_str(cm, "kind"), "ConfigMap") != 0) {
        rc = settings_fail(&t, 0, "expected one ConfigMap document (Argo CD's argocd-cm)");
        goto out;
    }
    d = json_object_get(cm, "data");
    if (d && !json_is_null(d) && !json_is_object(d)) {
        rc = settings_fail(&t, settings_key_line(&t, "data", 1), "data: must be a mapping");
        goto out;
    }
    /* The combined key first: split keys set their field over it. */
    if ((v = json_object_get(d, SETTINGS_COMBINED)) &&
        (rc = settings_combined(out, &t, v, settings_key_line(&t, SETTINGS_COMBINED, 1))) < 0)
        goto out;
    json_object_foreach(d, key, v)
    {
        long line = settings_key_line(&t, key, 1);
        if (!strcmp(key, SETTINGS_COMPARE))
            rc = settings_compare(out, &t, v, line);
        else if (str_has_prefix(key, SETTINGS_PREFIX))
            rc = settings_split(out, &t, key, v, line);
        else
            rc = 0;
        if (rc < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(docs);
    return rc;
}

int settings_load(struct settings *out, const char *path)
{
    struct buf data = BUF_INIT;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = fs_read_file(path, SETTINGS_MAX_BYTES, &data)) < 0)
        return rc;
    rc = settings_parse(out, buf_cstr(&data), data.len, path);
    buf_dispose(&data);
    return rc;
}

void settings_dispose(struct settings *s)
{
    for (size_t i = 0; i < s->n_overrides; i++) {
        struct settings_override *o = &s->overrides[i];
        free(o->key);
        free(o->group);
        free(o->kind);
        free(o->health_lua);
        free(o->health_key);
        free(o->actions);
        json_decref(o->ignore_differences);
        json_decref(o->ignore_resource_updates);
        json_decref(o->known_type_fields);
    }
    free(s->overrides);
    free(s->source);
    free(s->compare.ignore_resource_status_field);
    memset(s, 0, sizeof(*s));
}

const struct settings_override *settings_find(const struct settings *s, const char *key)
{
    for (size_t i = 0; s && i < s->n_overrides; i++)
        if (!strcmp(s->overrides[i].key, key))
            return &s->overrides[i];
    return NULL;
}
