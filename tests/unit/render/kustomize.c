/* Tests for the parts of render/kustomize.c that are easy to get wrong;
 * the parity corpus (integration/kustomize-parity) covers the rest
 * against real kustomize. */
#include "render/render.h"

#include "test.h"

TEST(hash_suffix_matches_kustomize)
{
    /* the suffixes kubectl kustomize 5.7 gives these objects */
    json_t *cm = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
                            "\"name\":\"cfg\",\"labels\":{\"x\":\"y\"}},\"data\":{\"a\":\"1\","
                            "\"b\":\"<x&y>\"}}",
                            0, NULL);
    json_t *sec = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\","
                             "\"metadata\":{\"name\":\"sec\"},\"data\":{\"p\":\"cw==\"}}",
                             0, NULL);
    char h[11];

    render_kustomize_hash(cm, h);
    CHECK_STR(h, "cchh4fmt2g");
    /* neither the name nor labels take part */
    json_object_set_new(json_object_get(cm, "metadata"), "name", json_string("pre-cfg-suf"));
    render_kustomize_hash(cm, h);
    CHECK_STR(h, "cchh4fmt2g");
    render_kustomize_hash(sec, h);
    CHECK_STR(h, "7kh9gkfm48");
    json_decref(cm);
    json_decref(sec);
}

int main(void)
{
    RUN(hash_suffix_matches_kustomize);
    return TEST_END();
}
