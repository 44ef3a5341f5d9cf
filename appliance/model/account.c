/*
 * Account names, roles and tokens: see account.h.
 */
#include "model/account.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/password.h"
#include "core/util.h"

#define ACCOUNT_TOKEN_BYTES 32

int account_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ACCOUNT_NAME_MAX || s[0] == '.' || s[0] == '-' || s[0] == '_')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]))
            return 0;
    return 1;
}

int account_role_ok(const char *s)
{
    return s && str_has_prefix(s, "role:") && account_name_ok(s + 5);
}

int account_roles_parse(const json_t *v, char **out)
{
    struct buf b = BUF_INIT;
    size_t i;
    json_t *r;

    *out = NULL;
    if (v && !json_is_array(v))
        return err_set(ERR_INVALID, "roles: must be a list of role names (role:...)");
    if (json_array_size(v) > ACCOUNT_MAX_ROLES)
        return err_set(ERR_INVALID, "roles: at most %d", ACCOUNT_MAX_ROLES);
    json_array_foreach(v, i, r)
    {
        if (!account_role_ok(json_string_value(r))) {
            buf_dispose(&b);
            return err_set(ERR_INVALID, "roles[%zu]: must be role:NAME (letters, digits, . _ -)",
                           i);
        }
        buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(r));
    }
    *out = buf_detach(&b);
    return 0;
}

json_t *account_roles_json(const char *roles)
{
    json_t *a = json_array();
    const char *p = roles ? roles : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p)
            p++;
    }
    return a;
}

int account_token_new(char **out, char sha_hex[65], char id[17])
{
    unsigned char sha[32], raw[8];
    char *secret = NULL;
    int rc;

    *out = NULL;
    if ((rc = util_random(raw, sizeof(raw))) < 0 ||
        (rc = password_random_text(&secret, ACCOUNT_TOKEN_BYTES)) < 0)
        return rc;
    util_hex(id, raw, sizeof(raw));
    *out = xasprintf("edgecd_%s", secret);
    memset(secret, 0, strlen(secret));
    free(secret);
    util_sha256(*out, strlen(*out), sha);
    util_hex(sha_hex, sha, sizeof(sha));
    return 0;
}
