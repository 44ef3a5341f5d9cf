/*
 * Protocol buffers by hand: every field written here is either a string /
 * nested message (wire type 2: key, varint length, bytes) or a bool
 * (wire type 0). Nested messages are built in their own buffer first, so
 * their length is known when the parent writes them. Field numbers are
 * those of gnostic's openapi.v2 OpenAPIv2.proto.
 */
#include "openapi2.h"

#include <stdint.h>
#include <string.h>

#include "resources.h"

static void pb_varint(struct buf *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_putc(b, (char)(unsigned char)(v | 0x80));
        v >>= 7;
    }
    buf_putc(b, (char)(unsigned char)v);
}

static void pb_bytes(struct buf *b, unsigned field, const void *data, size_t len)
{
    pb_varint(b, ((uint64_t)field << 3) | 2);
    pb_varint(b, len);
    buf_put(b, data, len);
}

static void pb_string(struct buf *b, unsigned field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

/* Write msg as field of b and empty msg for reuse. */
static void pb_message(struct buf *b, unsigned field, struct buf *msg)
{
    pb_bytes(b, field, msg->ptr ? msg->ptr : "", msg->len);
    buf_clear(msg);
}

/* NamedAny{name, value: Any{yaml}} as field of b. */
static void openapi2_extension(struct buf *b, unsigned field, const char *name, const char *yaml)
{
    struct buf any = BUF_INIT, named = BUF_INIT;
    pb_string(&any, 2, yaml);
    pb_string(&named, 1, name);
    pb_message(&named, 2, &any);
    pb_message(b, field, &named);
    buf_dispose(&any);
    buf_dispose(&named);
}

/* ParametersItem{parameter: Parameter{non_body_parameter:
 * NonBodyParameter{query_parameter_sub_schema: {in, name, type}}}}. */
static void openapi2_query_param(struct buf *b, unsigned field, const char *name)
{
    struct buf q = BUF_INIT, nb = BUF_INIT, p = BUF_INIT, item = BUF_INIT;
    pb_string(&q, 2, "query");
    pb_string(&q, 4, name);
    pb_string(&q, 6, "string");
    pb_message(&nb, 3, &q);
    pb_message(&p, 2, &nb);
    pb_message(&item, 1, &p);
    pb_message(b, field, &item);
    buf_dispose(&q);
    buf_dispose(&nb);
    buf_dispose(&p);
    buf_dispose(&item);
}

/* Paths.path entries (field 2): one NamedPathItem per kind. */
static void openapi2_path(const struct resource *r, void *ctx)
{
    struct buf *paths = ctx;
    struct buf path = BUF_INIT, op = BUF_INIT, item = BUF_INIT, named = BUF_INIT;

    if (r->group[0])
        buf_printf(&path, "/apis/%s/%s/", r->group, r->version);
    else
        buf_printf(&path, "/api/%s/", r->version);
    if (r->namespaced)
        buf_puts(&path, "namespaces/{namespace}/");
    buf_printf(&path, "%s/{name}", r->plural);

    {
        struct buf id = BUF_INIT, gvk = BUF_INIT;
        buf_printf(&id, "patch%s%s%s", r->namespaced ? "Namespaced" : "", r->kind, r->version);
        pb_string(&op, 5, buf_cstr(&id));
        openapi2_query_param(&op, 8, "dryRun");
        openapi2_query_param(&op, 8, "fieldManager");
        openapi2_query_param(&op, 8, "force");
        buf_printf(&gvk, "group: \"%s\"\nkind: %s\nversion: %s\n", r->group, r->kind, r->version);
        openapi2_extension(&op, 13, "x-kubernetes-action", "patch");
        openapi2_extension(&op, 13, "x-kubernetes-group-version-kind", buf_cstr(&gvk));
        buf_dispose(&id);
        buf_dispose(&gvk);
    }
    pb_message(&item, 8, &op); /* PathItem.patch */
    pb_string(&named, 1, buf_cstr(&path));
    pb_message(&named, 2, &item);
    pb_message(paths, 2, &named);
    buf_dispose(&path);
    buf_dispose(&op);
    buf_dispose(&item);
    buf_dispose(&named);
}

void openapi2_document(struct buf *out)
{
    struct buf info = BUF_INIT, paths = BUF_INIT;

    pb_string(out, 1, "2.0");
    pb_string(&info, 1, "Kubernetes");
    pb_string(&info, 2, "v1.35.0");
    pb_message(out, 2, &info);
    resources_each(openapi2_path, &paths);
    pb_message(out, 8, &paths);
    buf_dispose(&info);
    buf_dispose(&paths);
}
