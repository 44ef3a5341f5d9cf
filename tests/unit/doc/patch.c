/* Tests for appliance/doc/patch_json.c and patch_strategic.c. */
#include "doc/patch.h"

#include "core/buf.h"
#include "doc/doc.h"
#include "test.h"

static json_t *j(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, e.text);
        abort();
    }
    return v;
}

/* SMP of target with patch (both JSON texts) must give want. */
static int smp_gives(const char *av, const char *kind, const char *target, const char *patch,
                     const char *want)
{
    json_t *t = j(target), *p = j(patch), *w = j(want);
    int rc = doc_patch_strategic(t, p, av, kind), ok = rc == 0 && json_equal(t, w);
    if (!ok) {
        struct buf b = BUF_INIT;
        doc_emit_json(&b, t, 0);
        fprintf(stderr, "got %s (rc %d: %s)\nwant %s\n", buf_cstr(&b), rc, err_last(), want);
        buf_dispose(&b);
    }
    json_decref(t);
    json_decref(p);
    json_decref(w);
    return ok;
}

TEST(json_patch_rfc6902_examples)
{
    json_t *doc = j("{\"foo\":[\"bar\",\"baz\"],\"q\":{\"a\":1}}");
    json_t *ops = j("[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"},"
                    "{\"op\":\"remove\",\"path\":\"/q/a\"},"
                    "{\"op\":\"copy\",\"from\":\"/foo/0\",\"path\":\"/foo/-\"},"
                    "{\"op\":\"move\",\"from\":\"/foo/0\",\"path\":\"/first\"},"
                    "{\"op\":\"test\",\"path\":\"/first\",\"value\":\"bar\"}]");
    json_t *want = j("{\"foo\":[\"qux\",\"baz\",\"bar\"],\"q\":{},\"first\":\"bar\"}");

    CHECK(doc_patch_json_well_formed(ops));
    CHECK_OK(doc_patch_json(&doc, ops));
    CHECK(json_equal(doc, want));
    json_decref(ops);
    ops = j("[{\"op\":\"replace\",\"path\":\"/nope/x\",\"value\":1}]");
    CHECK_ERR(doc_patch_json(&doc, ops), ERR_INVALID);
    json_decref(ops);
    ops = j("{\"op\":\"add\"}");
    CHECK(!doc_patch_json_well_formed(ops));
    json_decref(ops);
    json_decref(want);
    json_decref(doc);
}

#define DEP "apps/v1", "Deployment"

TEST(smp_containers_merge_by_name_patch_items_first)
{
    CHECK(smp_gives(
        DEP,
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":"
        "\"x\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":"
        "\"2\"}],\"ports\":[{\"containerPort\":80}]},{\"name\":\"b\",\"image\":\"y\"}]}}}}",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"z\"},{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"9\"}],\"ports\":[{"
        "\"containerPort\":443}]}]}}}}",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"z\"},{\"name\":\"a\",\"image\":\"x\",\"env\":[{\"name\":\"X\",\"value\":\"9\"},"
        "{\"name\":\"Y\",\"value\":\"2\"}],\"ports\":[{\"containerPort\":443},{"
        "\"containerPort\":80}]},{\"name\":\"b\",\"image\":\"y\"}]}}}}"));
}

TEST(smp_directives)
{
    /* delete an item, delete a key with null, replace a map */
    CHECK(smp_gives(
        DEP,
        "{\"metadata\":{\"annotations\":{\"x\":\"1\",\"y\":\"2\"}},\"spec\":{\"template\":"
        "{\"spec\":{\"volumes\":[{\"name\":\"v\"},{\"name\":\"w\"}],\"nodeSelector\":{"
        "\"a\":\"b\"}}}}}",
        "{\"metadata\":{\"annotations\":{\"x\":null}},\"spec\":{\"template\":{\"spec\":{"
        "\"volumes\":[{\"name\":\"v\",\"$patch\":\"delete\"}],\"nodeSelector\":{\"$patch\""
        ":\"replace\",\"c\":\"d\"}}}}}",
        "{\"metadata\":{\"annotations\":{\"y\":\"2\"}},\"spec\":{\"template\":{\"spec\":{"
        "\"volumes\":[{\"name\":\"w\"}],\"nodeSelector\":{\"c\":\"d\"}}}}}"));
    /* a list replaced outright; finalizers merge as a set */
    CHECK(
        smp_gives("v1", "Pod",
                  "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]},\"spec\":{\"containers\":[{\"name\""
                  ":\"a\"},{\"name\":\"b\"}]}}",
                  "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]},\"spec\":{\"containers\":[{\"$patch"
                  "\":\"replace\"},{\"name\":\"only\"}]}}",
                  "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]},\"spec\":{\"containers\":[{"
                  "\"name\":\"only\"}]}}"));
    /* $retainKeys, $deleteFromPrimitiveList, $setElementOrder */
    CHECK(smp_gives("v1", "Pod",
                    "{\"spec\":{\"strategy\":{\"type\":\"A\",\"rollingUpdate\":{}},\"args\":[\"x\","
                    "\"y\"],\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
                    "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"B\"},"
                    "\"$deleteFromPrimitiveList/args\":[\"x\"],\"$setElementOrder/containers\":[{"
                    "\"name\":\"b\"},{\"name\":\"a\"}]}}",
                    "{\"spec\":{\"strategy\":{\"type\":\"B\"},\"args\":[\"y\"],\"containers\":[{"
                    "\"name\":\"b\"},{\"name\":\"a\"}]}}"));
}

TEST(smp_service_ports_and_custom_resources)
{
    CHECK(smp_gives("v1", "Service", "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\"}]}}",
                    "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30080}]}}",
                    "{\"spec\":{\"ports\":[{\"port\":80,\"name\":\"http\",\"nodePort\":30080}]}}"));
    /* a custom resource has no merge keys: its lists are replaced */
    CHECK(smp_gives("example.com/v1", "Widget", "{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
                    "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}",
                    "{\"spec\":{\"containers\":[{\"name\":\"b\"}]}}"));
}

TEST(smp_bad_patches_refused)
{
    json_t *t = j("{\"spec\":{}}"), *p = j("{\"spec\":{\"$patch\":\"explode\"}}");
    CHECK_ERR(doc_patch_strategic(t, p, "v1", "Pod"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "unknown $patch directive \"explode\"");
    json_decref(p);
    p = j("{\"$frobnicate\":1}");
    CHECK_ERR(doc_patch_strategic(t, p, "v1", "Pod"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "unknown strategic merge patch directive $frobnicate");
    json_decref(p);
    json_decref(t);
}

int main(void)
{
    RUN(json_patch_rfc6902_examples);
    RUN(smp_containers_merge_by_name_patch_items_first);
    RUN(smp_directives);
    RUN(smp_service_ports_and_custom_resources);
    RUN(smp_bad_patches_refused);
    return TEST_END();
}
