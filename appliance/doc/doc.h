/*
 * The document model: every YAML and JSON document edgecd handles (Git
 * manifests, Kubernetes objects, API bodies, its own config) becomes one
 * tree type, jansson's json_t, whose objects keep key order. YAML scalars
 * are typed the way kubectl types them (go-yaml v2 rules + sigs.k8s.io/yaml
 * conversion: `yes`/`on` are booleans, `0777` is octal, `1e3` is a number,
 * `~` is null, mapping keys become strings). Hostile input meets hard
 * limits (size, depth, alias expansion, document count) and gets an error
 * naming `source:line:col`, never a crash.
 *
 * Ownership: every json_t ** output is a new reference the caller must
 * json_decref. Functions named doc_get* return borrowed references.
 * All functions are safe to call from any thread on distinct trees.
 */
#ifndef EDGECD_DOC_DOC_H
#define EDGECD_DOC_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct doc_limits {
    size_t max_bytes;     /* whole input */
    size_t max_depth;     /* nesting of mappings/sequences */
    size_t max_nodes;     /* nodes produced, aliases expanded */
    size_t max_documents; /* documents in one stream */
    /* 1: type plain scalars as yaml.v3 does (kustomize's reader): only
     * true/True/TRUE/false/False/FALSE are booleans, so yes/no/on/off/y/n
     * stay strings. 0: kubectl's YAML 1.1 typing. */
    int yaml_v3_bools;
};

/* 8 MiB, depth 100, 1,000,000 nodes, 10,000 documents, kubectl's typing. */
#define DOC_LIMITS_INIT                                                                            \
    {                                                                                              \
        8u << 20, 100, 1000000, 10000, 0                                                           \
    }

/* Parse a YAML stream into a new JSON array holding one element per
 * non-empty document, in order (a document that is only `---` or null is
 * skipped, as kubectl does). `source` names the input in error messages
 * ("repo@abc123:apps/cm.yaml"). lim may be NULL for the defaults.
 * Errors: ERR_INVALID (syntax, duplicate key, unsupported tag) and
 * ERR_TOOLARGE (a limit), message "source:line:col: what". */
int doc_parse_yaml(json_t **out_docs, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim);

/* Parse one JSON text (same limits and error form) into a new value. */
int doc_parse_json(json_t **out, const char *data, size_t len, const char *source,
                   const struct doc_limits *lim);

/* Parse by name: `.json` files as JSON (one value; a top-level value is
 * wrapped in a one-element array), anything else as a YAML stream. */
int doc_parse_file_data(json_t **out_docs, const char *data, size_t len, const char *source,
                        const struct doc_limits *lim);

/* Serialise as YAML (block style, keys in order, strings quoted exactly
 * when a reader would otherwise type them differently) / as JSON (compact
 * when pretty is 0, two-space indent otherwise). Appends to out. */
void doc_emit_yaml(struct buf *out, const json_t *doc);
void doc_emit_json(struct buf *out, const json_t *doc, int pretty);

/* Serialise an array of documents (as doc_parse_yaml returns) as one YAML
 * stream, documents after the first introduced by `---`. Appends to out. */
void doc_emit_yaml_stream(struct buf *out, const json_t *docs);

/* Borrowed lookup by dotted path of object keys ("metadata.name"); NULL
 * when any step is missing or not an object. Keys with dots are reached
 * too: at each step a key equal to the whole rest of the path wins, and
 * after a step named labels, annotations, matchLabels, nodeSelector, data,
 * stringData or binaryData the rest is one key
 * ("metadata.labels.app.kubernetes.io/name"). */
json_t *doc_get(const json_t *root, const char *dotted);
/* The string at a dotted path, or NULL if missing or not a string. */
const char *doc_get_str(const json_t *root, const char *dotted);

/* Set root[dotted] = value, creating intermediate objects (replacing
 * non-objects on the way); steals value. Same path rules as doc_get. */
void doc_set_new(json_t *root, const char *dotted, json_t *value);

/* The same with the path as n separate keys, for keys the dotted form
 * cannot spell. doc_get_keys borrows; doc_set_keys_new steals value. */
json_t *doc_get_keys(const json_t *root, const char *const *keys, size_t n);
void doc_set_keys_new(json_t *root, const char *const *keys, size_t n, json_t *value);

/* Deep equality, ignoring object key order. */
int doc_equal(const json_t *a, const json_t *b);

/* SHA-256 (hex) of the canonical JSON form (sorted keys, compact). */
void doc_hash(const json_t *doc, char out[65]);

#endif
