/*
 * Tests for backup/s3.c's configuration: a backupLocations entry with
 * edgecd's key names and with Velero's, the AWS credentials file, prefix
 * normalisation, and refusals that name the field and never the secret.
 * (Requests are tested against a real S3-protocol server in
 * tests/integration/backup-s3.)
 */
#include <stdio.h>
#include <string.h>

#include "backup/s3.h"
#include "core/fs.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "test.h"

static char *dir;

static json_t *entry(const char *json)
{
    json_t *v = NULL;
    if (doc_parse_json(&v, json, strlen(json), "test", NULL) < 0)
        exit(2);
    return v;
}

static void write_file(const char *name, const char *text)
{
    char *p = xasprintf("%s/%s", dir, name);
    if (fs_write_atomic(p, text, strlen(text), 0600) < 0)
        exit(2);
    free(p);
}

TEST(edgecd_keys)
{
    struct s3_config c;
    json_t *e =
        entry("{\"name\": \"lan\", \"s3\": {\"endpoint\": \"http://10.0.0.5:9000\", "
              "\"bucket\": \"edge-backups\", \"prefix\": \"/site-a/\", \"accessKeyIdFile\": "
              "\"ak\", \"secretAccessKeyFile\": \"sk\", \"forcePathStyle\": true, "
              "\"partSizeMiB\": 16}}");
    char *url;
    CHECK_OK(s3_config_parse(&c, e, dir, "site.yaml: backupLocations[0]"));
    CHECK_STR(c.name, "lan");
    CHECK_STR(c.prefix, "site-a");
    CHECK_STR(c.region, "us-east-1");
    CHECK_STR(c.access_key_id, "AKIDEXAMPLE");
    CHECK_STR(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    CHECK(c.force_path_style && !c.insecure && c.part_size == (16u << 20));
    url = s3_config_url(&c);
    CHECK_STR(url, "s3://edge-backups/site-a");
    free(url);
    s3_config_dispose(&c);
    json_decref(e);
}

TEST(velero_keys_and_credentials_file)
{
    struct s3_config c;
    json_t *e = entry("{\"name\": \"velero\", \"s3\": {\"s3Url\": \"https://minio.lan\", "
                      "\"bucket\": \"velero\", \"region\": \"minio\", \"credentialsFile\": "
                      "\"creds\", \"s3ForcePathStyle\": \"true\", \"insecureSkipTLSVerify\": "
                      "\"true\"}}");
    CHECK_OK(s3_config_parse(&c, e, dir, "w"));
    CHECK_STR(c.endpoint, "https://minio.lan");
    CHECK_STR(c.region, "minio");
    CHECK_STR(c.access_key_id, "AKIDPROFILE");
    CHECK_STR(c.secret_access_key, "default-secret");
    CHECK(c.force_path_style && c.insecure && c.part_size == (8u << 20));
    CHECK_STR(c.prefix, "");
    s3_config_dispose(&c);
    json_decref(e);
}

/* Each bad entry fails naming the field; no message shows the secret. */
TEST(refusals)
{
    static const char *const cases[][2] = {
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\", "
         "\"accessKeyIdFile\": \"ak\", \"secretAccessKeyFile\": \"sk\", \"sseKms\": \"k\"}}",
         "s3.sseKms: unknown field"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"ftp://h\", \"bucket\": \"bk1\"}}",
         "s3.endpoint: needs http://"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h/path\", \"bucket\": \"bk1\"}}",
         "s3.endpoint: needs http://"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"B\"}}",
         "s3.bucket: 3 to 63"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\"}}",
         "IAM roles and instance profiles are not supported"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\", "
         "\"accessKeyIdFile\": \"ak\", \"secretAccessKeyFile\": \"missing\"}}",
         "s3.secretAccessKeyFile"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\", "
         "\"accessKeyIdFile\": \"ak\", \"secretAccessKeyFile\": \"sk\", \"partSizeMiB\": 4}}",
         "s3.partSizeMiB: a whole number from 5"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\", "
         "\"prefix\": \"a/../b\", \"accessKeyIdFile\": \"ak\", \"secretAccessKeyFile\": "
         "\"sk\"}}",
         "s3.prefix"},
        {"{\"name\": \"x\", \"s3\": {\"endpoint\": \"http://h\", \"bucket\": \"bk1\", "
         "\"credentialsFile\": \"nodefault\"}}",
         "has no [default] aws_access_key_id"},
        {"{\"s3\": {}}", "needs a name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct s3_config c;
        json_t *e = entry(cases[i][0]);
        int rc = s3_config_parse(&c, e, dir, "site.yaml: backupLocations[3]");
        s3_config_dispose(&c);
        json_decref(e);
        CHECK(rc == ERR_INVALID);
        CHECK_CONTAINS(err_last(), "site.yaml: backupLocations[3]");
        CHECK_CONTAINS(err_last(), cases[i][1]);
        CHECK(!strstr(err_last(), "EXAMPLEKEY") && !strstr(err_last(), "other-secret"));
    }
}

int main(void)
{
    if (fs_temp_dir(&dir, "s3-test") < 0)
        return 2;
    write_file("ak", "AKIDEXAMPLE\n");
    write_file("sk", "  wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY  \n");
    write_file("creds", "[other]\naws_access_key_id = NOPE\naws_secret_access_key = "
                        "other-secret\n\n[default]\naws_access_key_id = AKIDPROFILE\n"
                        "aws_secret_access_key=default-secret\n");
    write_file("nodefault", "[other]\naws_access_key_id = NOPE\naws_secret_access_key = "
                            "other-secret\n");
    RUN(edgecd_keys);
    RUN(velero_keys_and_credentials_file);
    RUN(refusals);
    fs_remove_tree(dir);
    free(dir);
    return TEST_END();
}
