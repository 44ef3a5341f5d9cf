/* Tests for appliance/doc/doc.c: paths, equality, hashing, JSON input. */
#include "doc/doc.h"
#include "core/util.h"
#include "test.h"

TEST(get_and_set_by_path)
{
    json_t *d = json_pack("{s:{s:s, s:{s:s}}}", "metadata", "name", "web", "labels",
                          "app.kubernetes.io/name", "web");
    CHECK_STR(doc_get_str(d, "metadata.name"), "web");
    CHECK_STR(doc_get_str(d, "metadata.labels.app.kubernetes.io/name"), "web");
    CHECK(doc_get(d, "metadata.missing") == NULL);
    CHECK(doc_get(d, "metadata.name.deeper") == NULL);
    CHECK(doc_get_str(d, "metadata") == NULL);
    doc_set_new(d, "metadata.namespace", json_string("prod"));
    CHECK_STR(doc_get_str(d, "metadata.namespace"), "prod");
    doc_set_new(d, "metadata.annotations.edgecd.io/tracking-id", json_string("x"));
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_object_get(d, "metadata"), "annotations"),
                                  "edgecd.io/tracking-id")),
              "x");
    doc_set_new(d, "spec.template.spec.replicas", json_integer(2));
    CHECK(json_integer_value(doc_get(d, "spec.template.spec.replicas")) == 2);
    doc_set_new(d, "metadata.name.sub", json_true()); /* replaces a non-object */
    CHECK(json_is_true(doc_get(d, "metadata.name.sub")));
    {
        const char *keys[] = {"spec", "a.b"};
        doc_set_keys_new(d, keys, 2, json_integer(5));
        CHECK(json_integer_value(doc_get_keys(d, keys, 2)) == 5);
    }
    json_decref(d);
}

TEST(equal_ignores_key_order)
{
    json_t *a = json_loads("{\"a\":1,\"b\":{\"x\":[1,2],\"y\":null}}", 0, NULL);
    json_t *b = json_loads("{\"b\":{\"y\":null,\"x\":[1,2]},\"a\":1}", 0, NULL);
    json_t *c = json_loads("{\"b\":{\"y\":null,\"x\":[2,1]},\"a\":1}", 0, NULL);
    json_t *r = json_loads("{\"a\":1.0,\"b\":{\"x\":[1e0,2],\"y\":null}}", 0, NULL);
    json_t *t = json_loads("{\"a\":true,\"b\":{\"x\":[1,2],\"y\":null}}", 0, NULL);
    CHECK(doc_equal(a, b));
    CHECK(!doc_equal(a, c));
    CHECK(doc_equal(a, r)); /* 1 and 1.0 are the same number */
    CHECK(!doc_equal(a, t));
    CHECK(!doc_equal(a, NULL));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(r);
    json_decref(t);
}

TEST(hash_is_canonical)
{
    json_t *a = json_loads("{\"a\":1,\"b\":{\"x\":[1,2],\"y\":\"s\"}}", 0, NULL);
    json_t *b = json_loads("{\"b\":{\"y\":\"s\",\"x\":[1,2]},\"a\":1.0}", 0, NULL);
    json_t *c = json_loads("{\"b\":{\"y\":\"t\",\"x\":[1,2]},\"a\":1}", 0, NULL);
    char ha[65], hb[65], hc[65], want[65];
    const char *canon = "{\"a\":1,\"b\":{\"x\":[1,2],\"y\":\"s\"}}";
    doc_hash(a, ha);
    doc_hash(b, hb);
    doc_hash(c, hc);
    util_sha256_hex(canon, strlen(canon), want);
    CHECK_STR(ha, want);
    CHECK_STR(ha, hb);
    CHECK(strcmp(ha, hc) != 0);
    CHECK(strlen(ha) == 64);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    RUN(get_and_set_by_path);
    RUN(equal_ignores_key_order);
    RUN(hash_is_canonical);
    return TEST_END();
}
