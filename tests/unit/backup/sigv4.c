/*
 * Tests for backup/sigv4.c against AWS's published Signature Version 4
 * test suite (credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, us-east-1,
 * service "service") and the S3 developer guide's GET object example: the
 * canonical request and string to sign where the suite gives them, the
 * Authorization header for each. A wrong sort order, header case, value
 * trimming or encoding changes a signature.
 */
#include <string.h>

#include "backup/sigv4.h"
#include "core/buf.h"
#include "test.h"

#define HOST "example.amazonaws.com"
#define DATE "20150830T123600Z"
#define SUITE_SCOPE                                                                                \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

static const struct sigv4_credentials suite = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};

/* Sign a suite request with Host and X-Amz-Date plus extra headers. */
static char *sign(const char *method, const char *path, const char *query,
                  const struct sigv4_header *extra, size_t n_extra, struct buf *sts)
{
    struct sigv4_header h[8] = {{"Host", HOST}, {"X-Amz-Date", DATE}};
    struct sigv4_request rq = {method, path, query, h, 2 + n_extra, SIGV4_EMPTY_SHA256};
    for (size_t i = 0; i < n_extra; i++)
        h[2 + i] = extra[i];
    return sigv4_authorization(&rq, &suite, DATE, sts);
}

TEST(get_vanilla)
{
    struct sigv4_header h[] = {{"Host", HOST}, {"X-Amz-Date", DATE}};
    struct sigv4_request rq = {"GET", "/", "", h, 2, SIGV4_EMPTY_SHA256};
    struct buf creq = BUF_INIT, sts = BUF_INIT;
    char *auth;
    sigv4_canonical_request(&creq, &rq);
    CHECK_STR(buf_cstr(&creq), "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
                               "\nhost;x-amz-date\n" SIGV4_EMPTY_SHA256);
    auth = sigv4_authorization(&rq, &suite, DATE, &sts);
    CHECK_STR(buf_cstr(&sts), "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
                              "aws4_request\n"
                              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;x-amz-date, "
                                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1"
                                "d763fbf31");
    free(auth);
    buf_dispose(&creq);
    buf_dispose(&sts);
}

TEST(query_order_key_case)
{
    struct buf sts = BUF_INIT;
    char *auth = sign("GET", "/", "Param2=value2&Param1=value1", NULL, 0, &sts);
    CHECK_CONTAINS(buf_cstr(&sts),
                   "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;x-amz-date, "
                                "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec"
                                "94cdf2500");
    free(auth);
    buf_dispose(&sts);
}

TEST(post_vanilla)
{
    char *auth = sign("POST", "/", NULL, NULL, 0, NULL);
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;x-amz-date, "
                                "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e9"
                                "2efbe5d6b");
    free(auth);
}

TEST(header_value_case)
{
    struct sigv4_header h[] = {{"My-Header1", "VALUE1"}};
    char *auth = sign("POST", "/", NULL, h, 1, NULL);
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;my-header1;x-amz-date, "
                                "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa"
                                "58b974b7d");
    free(auth);
}

TEST(header_value_trim)
{
    struct sigv4_header h[] = {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}};
    char *auth = sign("GET", "/", NULL, h, 2, NULL);
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                                "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359"
                                "757a9c736");
    free(auth);
}

TEST(header_key_duplicate)
{
    /* Repeated headers join with ',' in the order given. */
    struct sigv4_header h[] = {
        {"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}};
    char *auth = sign("GET", "/", NULL, h, 3, NULL);
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;my-header1;x-amz-date, "
                                "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259"
                                "531a5138ea");
    free(auth);
}

TEST(unreserved_path)
{
    struct buf path = BUF_INIT;
    char *auth;
    buf_putc(&path, '/');
    sigv4_uri_encode(&path, "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                     0);
    auth = sign("GET", buf_cstr(&path), NULL, NULL, 0, NULL);
    CHECK_STR(auth, SUITE_SCOPE "SignedHeaders=host;x-amz-date, "
                                "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a6"
                                "5bbf5f24f");
    free(auth);
    buf_dispose(&path);
}

/* The S3 guide's example: GET /test.txt with a Range, the empty body's
 * hash in x-amz-content-sha256. */
TEST(s3_get_object)
{
    static const struct sigv4_credentials s3 = {
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
    struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                               {"Range", "bytes=0-9"},
                               {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
                               {"x-amz-date", "20130524T000000Z"}};
    struct sigv4_request rq = {"GET", "/test.txt", NULL, h, 4, SIGV4_EMPTY_SHA256};
    struct buf sts = BUF_INIT;
    char *auth = sigv4_authorization(&rq, &s3, "20130524T000000Z", &sts);
    CHECK_CONTAINS(buf_cstr(&sts),
                   "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                    "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(auth);
    buf_dispose(&sts);
}

TEST(encoding)
{
    struct buf b = BUF_INIT;
    char date[17];
    sigv4_uri_encode(&b, "backups/a b+c/ü=?", 1);
    CHECK_STR(buf_cstr(&b), "backups/a%20b%2Bc/%C3%BC%3D%3F");
    buf_clear(&b);
    sigv4_uri_encode(&b, "a/b", 0);
    CHECK_STR(buf_cstr(&b), "a%2Fb");
    sigv4_amz_date(date, 1440938160);
    CHECK_STR(date, DATE);
    buf_dispose(&b);
}

int main(void)
{
    RUN(get_vanilla);
    RUN(query_order_key_case);
    RUN(post_vanilla);
    RUN(header_value_case);
    RUN(header_value_trim);
    RUN(header_key_duplicate);
    RUN(unreserved_path);
    RUN(s3_get_object);
    RUN(encoding);
    return TEST_END();
}
