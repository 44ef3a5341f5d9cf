/*
 * doc_emit_yaml: the tree as block-style YAML through libyaml's emitter.
 * libyaml already knows when a string cannot be written plain (": ",
 * leading "- ", "#", spaces at the ends, control characters) and falls
 * back to quotes by itself; what it cannot know is YAML 1.1 typing, so
 * every string that go-yaml or another 1.1 reader would read as something
 * else ("yes", "1", "", "0777", "1e3", "2001-12-14", "1:20") is asked for
 * in double quotes here. Multi-line strings are asked for as literal
 * blocks; libyaml quotes them with escapes when a block cannot hold them
 * exactly (trailing spaces, special characters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "doc/resolve.h"

static int emit_write(void *data, unsigned char *buffer, size_t size)
{
    buf_put(data, buffer, size);
    return 1;
}

static void emit_check(yaml_emitter_t *em, int ok)
{
    /* Only an allocation failure (or a tree jansson would not build) can
     * stop the emitter; like any allocation failure it ends the process. */
    if (!ok) {
        fprintf(stderr, "edgecd: YAML emitter failed: %s\n",
                em->problem ? em->problem : "out of memory");
        abort();
    }
}

/* 1 when a YAML 1.1 reader could type the plain text as something other
 * than a string. go-yaml's rules decide most of it; the rest covers what
 * other 1.1 readers type (timestamps, sexagesimal numbers, "=", "<<"). */
static int emit_needs_quotes(const char *s, size_t len)
{
    struct resolve_value rv;
    size_t i;

    resolve_plain(s, len, &rv);
    if (rv.kind != RESOLVE_STR)
        return 1;
    if (resolve_is_timestamp(s, len))
        return 1;
    if ((len == 1 && s[0] == '=') || (len == 2 && !memcmp(s, "<<", 2)))
        return 1;
    if (len > 0 && strchr("+-.0123456789", s[0]) && s[0]) {
        for (i = 0; i < len; i++)
            if (!strchr("0123456789abcdefABCDEFxXoO_.:+-eE", s[i]) || s[i] == '\0')
                return 0;
        return 1;
    }
    return 0;
}

static void emit_scalar(yaml_emitter_t *em, const char *s, size_t len, int quote)
{
    yaml_event_t e;
    yaml_scalar_style_t style = YAML_PLAIN_SCALAR_STYLE;

    if (quote)
        style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    else if (memchr(s, '\n', len))
        style = YAML_LITERAL_SCALAR_STYLE;
    emit_check(
        em, yaml_scalar_event_initialize(&e, NULL, NULL, (yaml_char_t *)s, (int)len, 1, 1, style));
    emit_check(em, yaml_emitter_emit(em, &e));
}

static void emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
    emit_scalar(em, s, len, emit_needs_quotes(s, len));
}

static void emit_node(yaml_emitter_t *em, const json_t *v)
{
    yaml_event_t e;
    char tmp[32];
    const char *k;
    json_t *x;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        emit_check(
            em, yaml_mapping_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
        emit_check(em, yaml_emitter_emit(em, &e));
        json_object_foreach((json_t *)v, k, x)
        {
            emit_string(em, k, strlen(k));
            emit_node(em, x);
        }
        emit_check(em, yaml_mapping_end_event_initialize(&e));
        emit_check(em, yaml_emitter_emit(em, &e));
        break;
    case JSON_ARRAY:
        emit_check(
            em, yaml_sequence_start_event_initialize(&e, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
        emit_check(em, yaml_emitter_emit(em, &e));
        json_array_foreach(v, i, x) emit_node(em, x);
        emit_check(em, yaml_sequence_end_event_initialize(&e));
        emit_check(em, yaml_emitter_emit(em, &e));
        break;
    case JSON_STRING:
        emit_string(em, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        emit_scalar(em, tmp, strlen(tmp), 0);
        break;
    case JSON_REAL:
        resolve_float_text(json_real_value(v), tmp);
        emit_scalar(em, tmp, strlen(tmp), 0);
        break;
    case JSON_TRUE:
        emit_scalar(em, "true", 4, 0);
        break;
    case JSON_FALSE:
        emit_scalar(em, "false", 5, 0);
        break;
    default:
        emit_scalar(em, "null", 4, 0);
        break;
    }
}

/* Emit each of n documents; docs is an array when n counts its items. */
static void emit_documents(struct buf *out, const json_t *const *docs, size_t n)
{
    yaml_emitter_t em;
    yaml_event_t e;
    size_t i;

    emit_check(&em, yaml_emitter_initialize(&em));
    yaml_emitter_set_output(&em, emit_write, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_width(&em, -1);
    emit_check(&em, yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING));
    emit_check(&em, yaml_emitter_emit(&em, &e));
    for (i = 0; i < n; i++) {
        emit_check(&em, yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1));
        emit_check(&em, yaml_emitter_emit(&em, &e));
        if (docs[i])
            emit_node(&em, docs[i]);
        else
            emit_scalar(&em, "null", 4, 0);
        emit_check(&em, yaml_document_end_event_initialize(&e, 1));
        emit_check(&em, yaml_emitter_emit(&em, &e));
    }
    emit_check(&em, yaml_stream_end_event_initialize(&e));
    emit_check(&em, yaml_emitter_emit(&em, &e));
    yaml_emitter_delete(&em);
}

void doc_emit_yaml(struct buf *out, const json_t *doc)
{
    emit_documents(out, &doc, 1);
}

void doc_emit_yaml_stream(struct buf *out, const json_t *docs)
{
    size_t n = json_array_size(docs), i;
    const json_t **v = xcalloc(n ? n : 1, sizeof(*v));
    for (i = 0; i < n; i++)
        v[i] = json_array_get(docs, i);
    emit_documents(out, v, n);
    free(v);
}
