/*
 * argocd-secret: see secrets.h. Keys in `stringData` win over the same
 * key in `data`, as the API server merges them.
 */
#include "model/secrets.h"

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "doc/doc.h"

#define SECRETS_MAX_BYTES (1u << 20)

/* Where each key goes. */
static char **secrets_slot(struct secrets *s, const char *key)
{
    static const struct {
        const char *key;
        size_t offset;
    } keys[] = {
        {"webhook.github.secret", offsetof(struct secrets, github)},
        {"webhook.gitlab.secret", offsetof(struct secrets, gitlab)},
        {"webhook.gogs.secret", offsetof(struct secrets, gogs)},
        {"webhook.bitbucket.uuid", offsetof(struct secrets, bitbucket_uuid)},
        {"webhook.bitbucketserver.secret", offsetof(struct secrets, bitbucket_server)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(keys[i].key, key))
            return (char **)((char *)s + keys[i].offset);
    return NULL;
}

static void secrets_wipe_free(char *v)
{
    if (v) {
        mbedtls_platform_zeroize(v, strlen(v));
        free(v);
    }
}

/* One map of the Secret (data: base64 values; stringData: as is). */
static int secrets_take(struct secrets *s, const json_t *map, int base64, const char *path,
                        const char *field)
{
    const char *key;
    const json_t *v;

    if (!map)
        return 0;
    if (!json_is_object(map))
        return err_set(ERR_INVALID, "%s: %s: must be a mapping", path, field);
    json_object_foreach((json_t *)map, key, v)
    {
        char **slot = secrets_slot(s, key), *value;
        size_t len = 0;
        if (!slot)
            continue;
        if (!json_is_string(v))
            return err_set(ERR_INVALID, "%s: %s.%s: must be a string", path, field, key);
        if (base64) {
            const unsigned char *in = (const unsigned char *)json_string_value(v);
            size_t in_len = json_string_length(v);
            value = xmalloc(in_len + 1);
            if (mbedtls_base64_decode((unsigned char *)value, in_len + 1, &len, in, in_len) != 0) {
                /* not NUL-terminated after a failed decode: wipe by size */
                mbedtls_platform_zeroize(value, in_len + 1);
                free(value);
                return err_set(ERR_INVALID, "%s: %s.%s: not base64", path, field, key);
            }
            value[len] = '\0';
        } else {
            value = xstrdup(json_string_value(v));
        }
        /* a trailing newline is what `echo ... | base64` leaves */
        len = strlen(value);
        while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r'))
            value[--len] = '\0';
        if (len == 0) {
            secrets_wipe_free(value);
            return err_set(ERR_INVALID, "%s: %s.%s: empty", path, field, key);
        }
        secrets_wipe_free(*slot);
        *slot = value;
    }
    return 0;
}

int secrets_load(struct secrets *out, const char *path)
{
    struct buf text = BUF_INIT;
    json_t *docs = NULL;
    const json_t *obj;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = fs_read_file(path, SECRETS_MAX_BYTES, &text)) < 0)
        goto out;
    if ((rc = doc_parse_file_data(&docs, buf_cstr(&text), text.len, path, NULL)) < 0)
        goto out;
    obj = json_array_get(docs, 0);
    if (json_array_size(docs) != 1 || !json_is_object(obj) ||
        strcmp(doc_get_str(obj, "kind") ? doc_get_str(obj, "kind") : "", "Secret") != 0) {
        rc = err_set(ERR_INVALID, "%s: must hold one Secret (Argo CD's argocd-secret)", path);
        goto out;
    }
    if ((rc = secrets_take(out, json_object_get(obj, "data"), 1, path, "data")) < 0 ||
        (rc = secrets_take(out, json_object_get(obj, "stringData"), 0, path, "stringData")) < 0)
        goto out;
out:
    if (text.ptr)
        mbedtls_platform_zeroize(text.ptr, text.len);
    buf_dispose(&text);
    json_decref(docs);
    return rc;
}

void secrets_dispose(struct secrets *s)
{
    if (!s)
        return;
    secrets_wipe_free(s->github);
    secrets_wipe_free(s->gitlab);
    secrets_wipe_free(s->gogs);
    secrets_wipe_free(s->bitbucket_uuid);
    secrets_wipe_free(s->bitbucket_server);
    memset(s, 0, sizeof(*s));
}
