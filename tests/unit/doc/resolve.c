/* Tests for appliance/doc/resolve.c: go-yaml v2's scalar typing and
 * sigs.k8s.io/yaml's spelling of float keys. */
#include <math.h>

#include "doc/resolve.h"
#include "test.h"

static enum resolve_kind kind_of(const char *s)
{
    struct resolve_value v;
    resolve_plain(s, strlen(s), &v);
    return v.kind;
}

TEST(kinds)
{
    struct resolve_value v;
    CHECK(kind_of("") == RESOLVE_NULL);
    CHECK(kind_of("~") == RESOLVE_NULL);
    CHECK(kind_of("Off") == RESOLVE_BOOL);
    CHECK(kind_of("oFF") == RESOLVE_STR);
    CHECK(kind_of("_1") == RESOLVE_STR);
    CHECK(kind_of("1__0") == RESOLVE_INT);
    CHECK(kind_of("._5") == RESOLVE_STR);
    CHECK(kind_of("1:20") == RESOLVE_STR); /* no base 60 in go-yaml */
    CHECK(kind_of("0x1p3") == RESOLVE_STR);
    CHECK(kind_of("+") == RESOLVE_STR);
    CHECK(kind_of("<<") == RESOLVE_STR);
    resolve_plain("9223372036854775808", 19, &v);
    CHECK(v.kind == RESOLVE_UINT && v.u == 9223372036854775808ull);
    resolve_plain("-9223372036854775808", 20, &v);
    CHECK(v.kind == RESOLVE_INT && v.i == INT64_MIN);
    resolve_plain("+9223372036854775808", 20, &v); /* ParseUint takes no sign */
    CHECK(v.kind == RESOLVE_FLOAT);
    resolve_plain("1e-400", 6, &v); /* underflow is fine, overflow is not */
    CHECK(v.kind == RESOLVE_FLOAT && v.f == 0);
    resolve_plain("-.inf", 5, &v);
    CHECK(v.kind == RESOLVE_FLOAT && isinf(v.f) && v.f < 0);
    resolve_plain("0777", 4, &v);
    CHECK(v.kind == RESOLVE_INT && v.i == 511);
}

TEST(float_keys_like_go)
{
    char out[48];
    resolve_float_key(1000, out);
    CHECK_STR(out, "1000");
    resolve_float_key(1e6, out);
    CHECK_STR(out, "1e+06");
    resolve_float_key(123456789.5, out);
    CHECK_STR(out, "1.2345679e+08");
    resolve_float_key(0.0001, out);
    CHECK_STR(out, "0.0001");
    resolve_float_key(0.00001, out);
    CHECK_STR(out, "1e-05");
    resolve_float_key(0.1, out);
    CHECK_STR(out, "0.1");
    resolve_float_key(1.5, out);
    CHECK_STR(out, "1.5");
    resolve_float_key(INFINITY, out);
    CHECK_STR(out, ".inf");
    resolve_float_key(1e300, out); /* float32 overflow */
    CHECK_STR(out, ".inf");
    resolve_float_key(NAN, out);
    CHECK_STR(out, ".nan");
}

TEST(float_text_is_shortest)
{
    char out[32];
    resolve_float_text(0.1, out);
    CHECK_STR(out, "0.1");
    resolve_float_text(1e20, out);
    CHECK_STR(out, "1e+20");
    resolve_float_text(1.0 / 3, out);
    CHECK_STR(out, "0.3333333333333333");
}

int main(void)
{
    RUN(kinds);
    RUN(float_keys_like_go);
    RUN(float_text_is_shortest);
    return TEST_END();
}
