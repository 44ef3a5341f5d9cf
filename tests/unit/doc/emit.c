/* Tests for appliance/doc/emit.c: YAML out, and back in to the same tree. */
#include <stdint.h>

#include "core/buf.h"
#include "doc/doc.h"
#include "test.h"

/* Emit doc as YAML, parse it again: the trees must be equal. The YAML is
 * left in yaml (caller disposes). */
static int round_trips(const json_t *doc, struct buf *yaml)
{
    json_t *again = NULL;
    int ok;
    doc_emit_yaml(yaml, doc);
    if (doc_parse_yaml(&again, yaml->ptr, yaml->len, "emitted", NULL) < 0) {
        fprintf(stderr, "  re-parse failed: %s\n%s\n", err_last(), buf_cstr(yaml));
        return 0;
    }
    ok = json_array_size(again) == 1 && doc_equal(doc, json_array_get(again, 0));
    if (!ok)
        fprintf(stderr, "  round trip differs:\n%s\n", buf_cstr(yaml));
    json_decref(again);
    return ok;
}

static const char *tricky[] = {
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "null",
    "~",
    "",
    "1",
    "-1",
    "+5",
    "0777",
    "0x1F",
    "0b101",
    "1e3",
    "1.0",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "1_000",
    "2001-12-14",
    "1:20",
    "=",
    "<<",
    " leading",
    "trailing ",
    "a: b",
    "a #b",
    "#comment",
    "- item",
    "-",
    "?",
    ":",
    "[x]",
    "{x}",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "'single'",
    "\"double\"",
    "|",
    ">",
    "multi\nline\n",
    "multi\nline no end",
    "trailing space \nline",
    "\n\nleading breaks",
    "tab\there",
    "nul\x01ctl",
    "unicode é ✓ 日本",
    "\xc2\x85next line",
    "--- doc",
    "...",
    "a\\b",
    "0.1.2",
    "yEs",
    "version: 1",
    "http://example.com/a?b=c#d",
};

TEST(strings_round_trip)
{
    size_t i;
    for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        json_t *doc = json_object();
        struct buf y = BUF_INIT;
        /* as a value, as a key, and inside a list */
        json_object_set_new(doc, "v", json_string(tricky[i]));
        json_object_set_new(doc, tricky[i], json_string("k"));
        json_object_set_new(doc, "l", json_pack("[s]", tricky[i]));
        if (!round_trips(doc, &y))
            TEST_FAIL_("string %u did not round-trip", (unsigned)i);
        json_decref(doc);
        buf_dispose(&y);
    }
}

TEST(non_strings_quoted_only_when_needed)
{
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:b, s:n, s:f, s:s}", "a", "yes", "b", "1", "c", "",
                  "d", "plain words", "e", 7, "f", 1, "g", "h", 1.5, "z", "0777");
    struct buf y = BUF_INIT;
    CHECK(round_trips(doc, &y));
    CHECK_STR(buf_cstr(&y), "a: \"yes\"\nb: \"1\"\nc: \"\"\nd: plain words\ne: 7\nf: true\ng: "
                            "null\nh: 1.5\nz: \"0777\"\n");
    json_decref(doc);
    buf_dispose(&y);
}

TEST(multi_line_as_literal_block)
{
    json_t *doc = json_pack("{s:s}", "script", "#!/bin/sh\necho yes\n");
    struct buf y = BUF_INIT;
    CHECK(round_trips(doc, &y));
    CHECK_STR(buf_cstr(&y), "script: |\n  #!/bin/sh\n  echo yes\n");
    json_decref(doc);
    buf_dispose(&y);
}

TEST(manifest_round_trips_in_order)
{
    const char *in =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n"
        "    app.kubernetes.io/name: web\nspec:\n  replicas: 2\n  template:\n"
        "    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
        "        args: [\"--flag=yes\", on, \"0777\"]\n        env:\n"
        "        - {name: A, value: \"1\"}\n      nodeSelector: {}\n      tolerations: []\n";
    json_t *docs = NULL;
    struct buf y = BUF_INIT;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "deploy.yaml", NULL));
    CHECK(round_trips(json_array_get(docs, 0), &y));
    /* keys keep their order */
    CHECK(strstr(y.ptr, "apiVersion") < strstr(y.ptr, "kind"));
    CHECK(strstr(y.ptr, "kind") < strstr(y.ptr, "metadata"));
    CHECK_CONTAINS(buf_cstr(&y), "- --flag=yes\n");
    CHECK_CONTAINS(buf_cstr(&y), "- \"0777\"\n");
    CHECK_CONTAINS(buf_cstr(&y), "- true\n");
    CHECK_CONTAINS(buf_cstr(&y), "nodeSelector: {}\n");
    json_decref(docs);
    buf_dispose(&y);
}

TEST(stream_round_trips)
{
    const char *in = "a: 1\n---\n- x\n- yes\n---\nb: {c: \"on\"}\n";
    json_t *docs = NULL, *again = NULL;
    struct buf y = BUF_INIT;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "s.yaml", NULL));
    doc_emit_yaml_stream(&y, docs);
    CHECK_OK(doc_parse_yaml(&again, y.ptr, y.len, "emitted", NULL));
    CHECK(doc_equal(docs, again));
    CHECK_CONTAINS(buf_cstr(&y), "---");
    json_decref(docs);
    json_decref(again);
    buf_dispose(&y);
}

TEST(numbers_round_trip)
{
    json_t *doc = json_pack("{s:f, s:f, s:f, s:I, s:I, s:f}", "a", 0.1, "b", 1e20, "c", -2.5e-7,
                            "d", (json_int_t)INT64_MAX, "e", (json_int_t)INT64_MIN, "f", 1000.0);
    struct buf y = BUF_INIT;
    CHECK(round_trips(doc, &y));
    CHECK_CONTAINS(buf_cstr(&y), "a: 0.1\n");
    json_decref(doc);
    buf_dispose(&y);
}

TEST(json_compact_and_pretty)
{
    json_t *doc = json_pack("{s:i, s:[b,n]}", "z", 1, "a", 1);
    struct buf b = BUF_INIT;
    doc_emit_json(&b, doc, 0);
    CHECK_STR(buf_cstr(&b), "{\"z\":1,\"a\":[true,null]}");
    buf_clear(&b);
    doc_emit_json(&b, doc, 1);
    CHECK_STR(buf_cstr(&b), "{\n  \"z\": 1,\n  \"a\": [\n    true,\n    null\n  ]\n}");
    json_decref(doc);
    buf_dispose(&b);
}

int main(void)
{
    RUN(strings_round_trip);
    RUN(non_strings_quoted_only_when_needed);
    RUN(multi_line_as_literal_block);
    RUN(manifest_round_trips_in_order);
    RUN(stream_round_trips);
    RUN(numbers_round_trip);
    RUN(json_compact_and_pretty);
    return TEST_END();
}
