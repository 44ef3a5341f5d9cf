/* Tests for appliance/git/remote.c: URL kinds and userinfo removal. */
#include "git/remote.h"

#include "core/err.h"
#include "test.h"

TEST(url_kinds)
{
    static const struct {
        const char *url;
        int rc;
        enum remote_kind kind;
        const char *msg;
    } cases[] = {
        {"/srv/git/x.git", 0, REMOTE_LOCAL, NULL},
        {"file:///srv/git/x.git", 0, REMOTE_LOCAL, NULL},
        {"relative/dir", 0, REMOTE_LOCAL, NULL},
        {"https://git.lan/x.git", 0, REMOTE_HTTP, NULL},
        {"http://git.lan:8080/x.git", 0, REMOTE_HTTP, NULL},
        {"ssh://git@git.lan/x.git", ERR_UNSUPPORTED, 0,
         "ssh://git.lan/x.git: ssh is not supported"},
        {"git@github.com:org/x.git", ERR_UNSUPPORTED, 0, "ssh is not supported by this build"},
        {"git+ssh://h/x", ERR_UNSUPPORTED, 0, "use https or a file mirror"},
        {"git://h/x", ERR_UNSUPPORTED, 0, "git://h/x: unsupported URL scheme"},
        {"", ERR_INVALID, 0, "empty"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum remote_kind k = REMOTE_LOCAL;
        int rc = remote_kind(cases[i].url, &k);
        if (rc != cases[i].rc)
            TEST_FAIL_("%s: rc %d, expected %d", cases[i].url, rc, cases[i].rc);
        else if (rc == 0)
            CHECK(k == cases[i].kind);
        else
            CHECK_CONTAINS(err_last(), cases[i].msg);
    }
}

TEST(redact_drops_userinfo_anywhere)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"https://u:pw@h/x.git", "https://h/x.git"},
        {"https://tok@h", "https://h"},
        {"https://h/a@b", "https://h/a@b"},
        {"fetch https://u:p@h/x failed; see http://v:q@i/",
         "fetch https://h/x failed; see http://i/"},
        {"no url here", "no url here"},
        {"/srv/x", "/srv/x"},
    };
    char out[128], tiny[8];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        remote_redact(cases[i].in, out, sizeof(out));
        CHECK_STR(out, cases[i].out);
    }
    remote_redact("https://u:pw@host/long", tiny, sizeof(tiny));
    CHECK_STR(tiny, "https:/");
}

int main(void)
{
    RUN(url_kinds);
    RUN(redact_drops_userinfo_anywhere);
    return TEST_END();
}
