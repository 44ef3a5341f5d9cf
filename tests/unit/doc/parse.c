/* Tests for appliance/doc/parse.c: YAML streams into trees, kubectl's
 * typing, merge keys, and every limit against hostile input. */
#include <time.h>

#include "core/buf.h"
#include "core/util.h"
#include "doc/doc.h"
#include "test.h"

/* The first document of text as compact JSON (caller frees), or NULL. */
static char *parse_to_json(const char *text)
{
    json_t *docs = NULL;
    struct buf b = BUF_INIT;
    if (doc_parse_yaml(&docs, text, strlen(text), "t.yaml", NULL) < 0)
        return NULL;
    doc_emit_json(&b, json_array_get(docs, 0), 0);
    json_decref(docs);
    return buf_detach(&b);
}

/* "v: TEXT" must give {"v": WANT}. */
static int scalar_is(const char *text, const char *want)
{
    char *in = xasprintf("v: %s\n", text);
    char *got = parse_to_json(in);
    char *exp = xasprintf("{\"v\": %s}", want);
    json_t *g = got ? json_loads(got, JSON_DECODE_ANY, NULL) : NULL;
    json_t *e = json_loads(exp, JSON_DECODE_ANY, NULL);
    int ok = g && e && json_equal(g, e);
    if (!ok)
        fprintf(stderr, "  scalar %s: got %s, want %s (%s)\n", text, got ? got : "(error)", exp,
                err_last());
    json_decref(g);
    json_decref(e);
    free(in);
    free(got);
    free(exp);
    return ok;
}

TEST(typing_booleans_and_nulls)
{
    static const char *trues[] = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                  "On", "ON", "true", "True", "TRUE"};
    static const char *falses[] = {"n",   "N",   "no",    "No",    "NO",   "off",
                                   "Off", "OFF", "false", "False", "FALSE"};
    size_t i;
    for (i = 0; i < sizeof(trues) / sizeof(trues[0]); i++)
        CHECK(scalar_is(trues[i], "true"));
    for (i = 0; i < sizeof(falses) / sizeof(falses[0]); i++)
        CHECK(scalar_is(falses[i], "false"));
    CHECK(scalar_is("yEs", "\"yEs\""));
    CHECK(scalar_is("tRUE", "\"tRUE\""));
    CHECK(scalar_is("\"yes\"", "\"yes\""));
    CHECK(scalar_is("'on'", "\"on\""));
    CHECK(scalar_is("!!str yes", "\"yes\""));
    CHECK(scalar_is("~", "null"));
    CHECK(scalar_is("null", "null"));
    CHECK(scalar_is("Null", "null"));
    CHECK(scalar_is("NULL", "null"));
    CHECK(scalar_is("nULL", "\"nULL\""));
    CHECK(scalar_is("", "null"));
    CHECK(scalar_is("\"\"", "\"\""));
    CHECK(scalar_is("!!null ~", "null"));
}

TEST(typing_numbers)
{
    CHECK(scalar_is("42", "42"));
    CHECK(scalar_is("+5", "5"));
    CHECK(scalar_is("-17", "-17"));
    CHECK(scalar_is("0777", "511"));
    CHECK(scalar_is("0o17", "15"));
    CHECK(scalar_is("0x1F", "31"));
    CHECK(scalar_is("-0x1F", "-31"));
    CHECK(scalar_is("0b101", "5"));
    CHECK(scalar_is("-0b11", "-3"));
    CHECK(scalar_is("1_000", "1000"));
    CHECK(scalar_is("08", "8")); /* not octal: go-yaml falls back to float */
    CHECK(scalar_is("1e3", "1000"));
    CHECK(scalar_is("1.0", "1"));
    CHECK(scalar_is("1.5", "1.5"));
    CHECK(scalar_is(".5", "0.5"));
    CHECK(scalar_is(".5_0", "0.5"));
    CHECK(scalar_is("1e-7", "1e-7"));
    CHECK(scalar_is("9223372036854775807", "9223372036854775807"));
    CHECK(scalar_is("18446744073709551615", "18446744073709551615.0"));
    CHECK(scalar_is("1e400", "\"1e400\""));
    CHECK(scalar_is("0x", "\"0x\""));
    CHECK(scalar_is("1.2.3", "\"1.2.3\""));
    CHECK(scalar_is("2001-12-14", "\"2001-12-14\""));
    CHECK(scalar_is("\"1\"", "\"1\""));
    CHECK(scalar_is("'0777'", "\"0777\""));
    CHECK(scalar_is("!!int \"12\"", "12"));
    CHECK(scalar_is("!!float 1", "1"));
    CHECK(scalar_is("!!bool \"yes\"", "true"));
    CHECK(scalar_is("!!str 0x1F", "\"0x1F\""));
    CHECK(scalar_is("!!binary aGVsbG8=", "\"hello\""));
    CHECK(scalar_is("!custom 12", "\"12\""));
}

TEST(typing_block_scalars_are_strings)
{
    CHECK(scalar_is("|\n  yes\n  0777\n", "\"yes\\n0777\\n\""));
    CHECK(scalar_is(">-\n  1e3\n  on\n", "\"1e3 on\""));
    CHECK(scalar_is("|-\n  42\n", "\"42\""));
}

TEST(float_infinity_and_nan_are_refused)
{
    json_t *docs = NULL;
    const char *in = "a: 1\nb: .inf\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "t.yaml", NULL), ERR_INVALID);
    CHECK(docs == NULL);
    CHECK_CONTAINS(err_last(), "t.yaml:2:4:");
    in = "a: -.Inf\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "t.yaml", NULL), ERR_INVALID);
    in = "a: .NaN\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "t.yaml", NULL), ERR_INVALID);
}

TEST(tag_mismatch_is_refused)
{
    json_t *docs = NULL;
    const char *in = "a: !!int abc\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "t.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "t.yaml:1:4: cannot decode !!str `abc` as a !!int");
}

TEST(keys_become_strings)
{
    char *got = parse_to_json("on: a\noff: b\n0777: c\n0x10: d\n1e3: e\n1.5: f\n1e6: g\n"
                              "123456789.5: h\n.inf: i\n-12: j\n\"yes\": k\n");
    CHECK(got != NULL);
    CHECK_STR(got, "{\"true\":\"a\",\"false\":\"b\",\"511\":\"c\",\"16\":\"d\",\"1000\":\"e\","
                   "\"1.5\":\"f\",\"1e+06\":\"g\",\"1.2345679e+08\":\"h\",\".inf\":\"i\","
                   "\"-12\":\"j\",\"yes\":\"k\"}");
    free(got);
}

TEST(bad_keys_are_refused)
{
    static const char *bad[] = {"~: 1\n", ": 1\n", "? [a]\n: 1\n", "{a: 1}: 2\n",
                                "18446744073709551615: x\n"};
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *docs = NULL;
        CHECK_ERR(doc_parse_yaml(&docs, bad[i], strlen(bad[i]), "k.yaml", NULL), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "k.yaml:1:");
    }
}

TEST(key_order_is_kept)
{
    char *got = parse_to_json("z: 1\na: 2\nm: {q: 1, b: 2}\n");
    CHECK_STR(got, "{\"z\":1,\"a\":2,\"m\":{\"q\":1,\"b\":2}}");
    free(got);
}

TEST(multi_document_stream)
{
    const char *in = "a: 1\n---\n---\n# only a comment\n---\n~\n---\n[1, 2]\n...\n---\nb: yes\n";
    json_t *docs = NULL;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "s.yaml", NULL));
    CHECK(json_array_size(docs) == 3);
    CHECK(json_integer_value(doc_get(json_array_get(docs, 0), "a")) == 1);
    CHECK(json_is_array(json_array_get(docs, 1)));
    CHECK(json_is_true(doc_get(json_array_get(docs, 2), "b")));
    json_decref(docs);
    CHECK_OK(doc_parse_yaml(&docs, "", 0, "empty.yaml", NULL));
    CHECK(json_array_size(docs) == 0);
    json_decref(docs);
}

TEST(anchors_and_merge_keys)
{
    const char *in = "base: &b {a: 1, b: 2}\n"
                     "other: &o {b: 3, c: 4}\n"
                     "after: {<<: *b, a: 9}\n"
                     "before: {a: 9, <<: *b}\n"
                     "list: {<<: [*b, *o]}\n"
                     "quoted: {\"<<\": x}\n"
                     "s: &s hi\n"
                     "copy: *s\n";
    json_t *docs = NULL, *d;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "m.yaml", NULL));
    d = json_array_get(docs, 0);
    /* Keys written after << override it; go-yaml v2 lets << override keys
     * written before it; in a list the earlier map wins. */
    CHECK(json_integer_value(doc_get(d, "after.a")) == 9);
    CHECK(json_integer_value(doc_get(d, "before.a")) == 1);
    CHECK(json_integer_value(doc_get(d, "list.b")) == 2);
    CHECK(json_integer_value(doc_get(d, "list.c")) == 4);
    CHECK_STR(doc_get_str(d, "quoted.<<"), "x");
    CHECK_STR(doc_get_str(d, "copy"), "hi");
    json_decref(docs);
}

TEST(aliases_are_unshared_copies)
{
    const char *in = "a: &x {k: [1, 2]}\nb: *x\nc: *x\n";
    json_t *docs = NULL, *d;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "u.yaml", NULL));
    d = json_array_get(docs, 0);
    CHECK(doc_get(d, "a") != doc_get(d, "b"));
    CHECK(doc_get(d, "a.k") != doc_get(d, "b.k"));
    doc_set_new(d, "b.k", json_string("changed"));
    CHECK(json_is_array(doc_get(d, "a.k")));
    CHECK(json_is_array(doc_get(d, "c.k")));
    CHECK(doc_get(d, "a")->refcount == 1);
    json_decref(docs);
}

TEST(bad_aliases_are_refused)
{
    json_t *docs = NULL;
    const char *in = "a: *nope\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "a.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "a.yaml:1:4: unknown anchor 'nope'");
    in = "a: &x [1, *x]\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "a.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "contains itself");
    in = "a: &x 1\n---\nb: *x\n"; /* anchors end with their document */
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "a.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "a.yaml:3:4:");
    in = "a:\n  <<: [1]\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "a.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "map merge");
}

TEST(duplicate_keys_are_refused_with_place)
{
    json_t *docs = NULL;
    const char *in = "apiVersion: v1\nmetadata:\n  name: a\n  labels: {}\n  name: b\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "repo@abc:cm.yaml", NULL), ERR_INVALID);
    CHECK_STR(err_last(), "repo@abc:cm.yaml:5:3: duplicate key \"name\"");
    CHECK(docs == NULL);
    /* on and "true" are the same key once converted */
    in = "on: 1\n\"true\": 2\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "d.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "d.yaml:2:1: duplicate key \"true\"");
}

TEST(syntax_errors_name_the_place)
{
    json_t *docs = NULL;
    const char *in = "a: 1\nb: [1, 2\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "x.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "x.yaml:3:1:");
    in = "a:\n\tb: 1\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "tab.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "tab.yaml:2:");
    in = "a: \"b\xff\"\n";
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "utf.yaml", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "utf.yaml:1:");
}

TEST(limit_bytes)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    json_t *docs = NULL;
    const char *in = "a: 1\nb: 2\nc: 3\n";
    lim.max_bytes = 8;
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "big.yaml", &lim), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "big.yaml:2:4:");
    CHECK(docs == NULL);
    lim.max_bytes = strlen(in);
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "big.yaml", &lim));
    json_decref(docs);
}

TEST(limit_depth)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    struct buf b = BUF_INIT;
    json_t *docs = NULL;
    int i;
    for (i = 0; i < 101; i++)
        buf_putc(&b, '[');
    for (i = 0; i < 101; i++)
        buf_putc(&b, ']');
    CHECK_ERR(doc_parse_yaml(&docs, b.ptr, b.len, "deep.yaml", NULL), ERR_TOOLARGE);
    CHECK_STR(err_last(), "deep.yaml:1:101: nesting deeper than 100 levels");
    CHECK_OK(doc_parse_yaml(&docs, b.ptr + 1, b.len - 2, "deep.yaml", NULL));
    json_decref(docs);
    /* An alias cannot carry a deep subtree below the limit either. */
    lim.max_depth = 4;
    {
        const char *in = "a: &x [[[1]]]\nb: [*x]\n";
        CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "alias.yaml", &lim), ERR_TOOLARGE);
        CHECK_CONTAINS(err_last(), "alias.yaml:2:5:");
    }
    buf_dispose(&b);
}

TEST(limit_documents)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    json_t *docs = NULL;
    const char *in = "a: 1\n---\na: 2\n---\na: 3\n";
    lim.max_documents = 2;
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "many.yaml", &lim), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "many.yaml:4:1: more than 2 documents");
    CHECK(docs == NULL);
}

TEST(limit_nodes)
{
    struct doc_limits lim = DOC_LIMITS_INIT;
    json_t *docs = NULL;
    const char *in = "a: &x [1, 2, 3]\nb: *x\nc: *x\n";
    lim.max_nodes = 15; /* 1 map + 3 keys + 4 + 4 + 4 = 16 */
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "n.yaml", &lim), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "n.yaml:3:4: more than 15 nodes");
    lim.max_nodes = 16;
    CHECK_OK(doc_parse_yaml(&docs, in, strlen(in), "n.yaml", &lim));
    json_decref(docs);
}

TEST(billion_laughs_fails_fast)
{
    const char *in = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                     "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                     "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    json_t *docs = NULL;
    int64_t t0 = time_mono_ms();
    CHECK_ERR(doc_parse_yaml(&docs, in, strlen(in), "lol.yaml", NULL), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "lol.yaml:7:");
    CHECK_CONTAINS(err_last(), "more than 1000000 nodes");
    CHECK(docs == NULL);
    /* Aliases share until the document passes, so this is quick. */
    CHECK(time_mono_ms() - t0 < 200);
}

TEST(json_input)
{
    json_t *v = NULL;
    struct doc_limits lim = DOC_LIMITS_INIT;
    const char *in = "{\"b\": 1, \"a\": [true, null, 1e3, \"x\"]}";
    struct buf b = BUF_INIT;
    CHECK_OK(doc_parse_json(&v, in, strlen(in), "x.json", NULL));
    doc_emit_json(&b, v, 0);
    CHECK_STR(buf_cstr(&b), "{\"b\":1,\"a\":[true,null,1000.0,\"x\"]}");
    json_decref(v);
    buf_dispose(&b);
    in = "{\"a\": 1,\n \"a\": 2}";
    CHECK_ERR(doc_parse_json(&v, in, strlen(in), "d.json", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "d.json:2:");
    CHECK_CONTAINS(err_last(), "duplicate");
    in = "{\"a\": [[[[1]]]]}";
    lim.max_depth = 4;
    CHECK_ERR(doc_parse_json(&v, in, strlen(in), "n.json", &lim), ERR_TOOLARGE);
    CHECK_STR(err_last(), "n.json:1:10: nesting deeper than 4 levels");
    lim = (struct doc_limits)DOC_LIMITS_INIT;
    lim.max_nodes = 3;
    in = "{\"a\": [1, 2]}";
    CHECK_ERR(doc_parse_json(&v, in, strlen(in), "n.json", &lim), ERR_TOOLARGE);
    CHECK_CONTAINS(err_last(), "n.json:1:8: more than 3 nodes");
    lim.max_nodes = 4;
    lim.max_bytes = 5;
    CHECK_ERR(doc_parse_json(&v, in, strlen(in), "n.json", &lim), ERR_TOOLARGE);
    CHECK(v == NULL);
}

TEST(file_data_picks_by_name)
{
    json_t *docs = NULL;
    const char *json = "{\"kind\": \"ConfigMap\", \"v\": \"yes\"}";
    const char *yaml = "kind: ConfigMap\nv: yes\n";
    CHECK_OK(doc_parse_file_data(&docs, json, strlen(json), "apps/cm.json", NULL));
    CHECK(json_array_size(docs) == 1);
    CHECK_STR(doc_get_str(json_array_get(docs, 0), "v"), "yes");
    json_decref(docs);
    CHECK_OK(doc_parse_file_data(&docs, yaml, strlen(yaml), "apps/cm.yaml", NULL));
    CHECK(json_is_true(doc_get(json_array_get(docs, 0), "v")));
    json_decref(docs);
    CHECK_ERR(doc_parse_file_data(&docs, yaml, strlen(yaml), "apps/cm.json", NULL), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "apps/cm.json:1:");
}

int main(void)
{
    RUN(typing_booleans_and_nulls);
    RUN(typing_numbers);
    RUN(typing_block_scalars_are_strings);
    RUN(float_infinity_and_nan_are_refused);
    RUN(tag_mismatch_is_refused);
    RUN(keys_become_strings);
    RUN(bad_keys_are_refused);
    RUN(key_order_is_kept);
    RUN(multi_document_stream);
    RUN(anchors_and_merge_keys);
    RUN(aliases_are_unshared_copies);
    RUN(bad_aliases_are_refused);
    RUN(duplicate_keys_are_refused_with_place);
    RUN(syntax_errors_name_the_place);
    RUN(limit_bytes);
    RUN(limit_depth);
    RUN(limit_documents);
    RUN(limit_nodes);
    RUN(billion_laughs_fails_fast);
    RUN(json_input);
    RUN(file_data_picks_by_name);
    return TEST_END();
}
