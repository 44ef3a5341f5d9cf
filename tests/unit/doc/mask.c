/*
 * Tests for appliance/doc/mask.c: Secret masking as Argo CD's
 * HideSecretData does it (runs of '+' per distinct value and key, 8 then
 * 12, ...; stringData folded into data first; the last-applied annotation
 * masked alike) and the scrubbing of free text.
 */
#include "doc/doc.h"

#include "test.h"

static json_t *secret(const char *data_json)
{
    json_t *o = json_loads(data_json, 0, NULL);
    json_t *s = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Secret", "metadata",
                          "name", "creds");
    json_object_update(s, o);
    json_decref(o);
    return s;
}

static const char *val(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

TEST(equal_values_equal_runs_different_values_different_runs)
{
    /* "aGVsbG8=" is base64 of "hello": stringData and data agree */
    json_t *target = secret("{\"stringData\": {\"a\": \"hello\", \"b\": \"same\"}}");
    json_t *live =
        secret("{\"data\": {\"a\": \"aGVsbG8=\", \"b\": \"b3RoZXI=\", \"c\": \"eA==\"}}");

    doc_mask_secrets(target, live);
    CHECK(json_object_get(target, "stringData") == NULL);
    CHECK_STR(val(target, "a"), "++++++++");
    CHECK_STR(val(live, "a"), "++++++++");
    /* b differs: the live value gets the next run */
    CHECK_STR(val(target, "b"), "++++++++");
    CHECK_STR(val(live, "b"), "++++++++++++");
    CHECK_STR(val(live, "c"), "++++++++");
    json_decref(target);
    json_decref(live);
}

TEST(last_applied_annotation_masked_with_the_same_runs)
{
    json_t *live = secret("{\"data\": {\"k\": \"djE=\"}}");
    json_t *ann =
        json_pack("{s:s}", "kubectl.kubernetes.io/last-applied-configuration",
                  "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{\"k\":\"djI=\"}}");
    const char *la;
    json_object_set_new(json_object_get(live, "metadata"), "annotations", ann);

    doc_mask_secrets(NULL, live);
    CHECK_STR(val(live, "k"), "++++++++");
    la = json_string_value(
        json_object_get(json_object_get(json_object_get(live, "metadata"), "annotations"),
                        "kubectl.kubernetes.io/last-applied-configuration"));
    CHECK(la && strstr(la, "djI=") == NULL && strstr(la, "\"++++++++++++\"") != NULL);
    json_decref(live);
}

TEST(other_kinds_untouched)
{
    json_t *cm = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "data",
                           "k", "visible");
    json_t *crd = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "example.com/v1", "kind", "Secret",
                            "data", "k", "visible");
    doc_mask_secrets(cm, NULL);
    doc_mask_secrets(NULL, crd);
    CHECK_STR(val(cm, "k"), "visible");
    CHECK_STR(val(crd, "k"), "visible");
    json_decref(cm);
    json_decref(crd);
}

TEST(text_scrubbed_of_raw_and_base64_values)
{
    json_t *s =
        secret("{\"data\": {\"pw\": \"czNjcjN0LXB3\"}, \"stringData\": {\"t\": \"tok-123\"}}");
    json_t *values = doc_secret_values(s);
    char *out = doc_mask_text("auth failed for s3cr3t-pw (czNjcjN0LXB3), token tok-123", values);
    CHECK_STR(out, "auth failed for ++++++++ (++++++++), token ++++++++");
    free(out);
    json_decref(values);
    json_decref(s);
}

int main(void)
{
    RUN(equal_values_equal_runs_different_values_different_runs);
    RUN(last_applied_annotation_masked_with_the_same_runs);
    RUN(other_kinds_untouched);
    RUN(text_scrubbed_of_raw_and_base64_values);
    return TEST_END();
}
