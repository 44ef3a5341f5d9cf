#include "status.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/mem.h"

static void status_emit(struct httpd_response *res, json_t *st)
{
    char *text = json_dumps(st, JSON_COMPACT);
    buf_clear(&res->body);
    buf_puts(&res->body, text);
    buf_putc(&res->body, '\n');
    res->content_type = "application/json";
    free(text);
    json_decref(st);
}

void status_reply(struct httpd_response *res, int code, const char *reason, json_t *details,
                  const char *fmt, ...)
{
    va_list ap;
    struct buf msg = BUF_INIT;
    json_t *st;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s}", "kind", "Status", "apiVersion", "v1",
                   "metadata", "status", "Failure", "message", buf_cstr(&msg), "reason", reason);
    if (details)
        json_object_set_new(st, "details", details);
    json_object_set_new(st, "code", json_integer(code));
    res->status = code;
    status_emit(res, st);
    buf_dispose(&msg);
}

static json_t *status_details(const struct resource *r, const char *name, int kind_is_kind)
{
    json_t *d = json_object();
    json_object_set_new(d, "name", json_string(name ? name : ""));
    if (r->group[0])
        json_object_set_new(d, "group", json_string(r->group));
    json_object_set_new(d, "kind", json_string(kind_is_kind ? r->kind : r->plural));
    return d;
}

void status_not_found(struct httpd_response *res, const struct resource *r, const char *name)
{
    status_reply(res, 404, "NotFound", status_details(r, name, 0), "%s \"%s\" not found",
                 resources_qualified(r), name);
}

void status_already_exists(struct httpd_response *res, const struct resource *r, const char *name)
{
    status_reply(res, 409, "AlreadyExists", status_details(r, name, 0), "%s \"%s\" already exists",
                 resources_qualified(r), name);
}

void status_conflict(struct httpd_response *res, const struct resource *r, const char *name,
                     const char *why)
{
    status_reply(res, 409, "Conflict", status_details(r, name, 0),
                 "Operation cannot be fulfilled on %s \"%s\": %s", resources_qualified(r), name,
                 why);
}

void status_invalid(struct httpd_response *res, const struct resource *r, const char *name,
                    const char *field, const char *cause_reason, const char *detail)
{
    json_t *d = status_details(r, name, 1);
    /* The cause carries the field separately; the message joins them. */
    json_object_set_new(
        d, "causes",
        json_pack("[{s:s, s:s, s:s}]", "reason", cause_reason, "message", detail, "field", field));
    status_reply(res, 422, "Invalid", d, "%s%s%s \"%s\" is invalid: %s: %s", r->kind,
                 r->group[0] ? "." : "", r->group, name ? name : "", field, detail);
}

void status_success(struct httpd_response *res, const struct resource *r, const char *name)
{
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:o}", "kind", "Status", "apiVersion", "v1",
                           "metadata", "status", "Success", "details", status_details(r, name, 0));
    res->status = 200;
    status_emit(res, st);
}

void status_deleted(struct httpd_response *res, const struct resource *r, const char *name,
                    const char *uid)
{
    json_t *d = status_details(r, name, 0);
    json_t *st;
    if (uid)
        json_object_set_new(d, "uid", json_string(uid));
    st = json_pack("{s:s, s:s, s:{}, s:s, s:o}", "kind", "Status", "apiVersion", "v1", "metadata",
                   "status", "Success", "details", d);
    res->status = 200;
    status_emit(res, st);
}
