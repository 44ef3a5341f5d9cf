/*
 * `edgecd app list|get`: the same REST API the UI uses, so the CLI shows
 * exactly what the server knows. Where the server is and which token to
 * use come from flags, then the environment, then the defaults of a node
 * install (the token file in the data directory).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "doc/doc.h"
#include "kube/http.h"

#define APP_DEFAULT_SERVER "http://127.0.0.1:8080"
#define APP_DEFAULT_DATA "/var/lib/edgecd"

struct app_cli {
    const char *server;
    const char *token_file;
    const char *data_dir;
    const char *output; /* "", "json", "wide" */
};

static int app_cli_token(const struct app_cli *o, char **out)
{
    const char *env = getenv("EDGECD_TOKEN");
    char *path;
    struct buf b = BUF_INIT;
    int rc;
    *out = NULL;
    if (!o->token_file && env && *env) {
        *out = xstrdup(env);
        return 0;
    }
    path = o->token_file ? xstrdup(o->token_file)
                         : xasprintf("%s/keys/api-token",
                                     o->data_dir ? o->data_dir
                                                 : (getenv("EDGECD_DATA") ? getenv("EDGECD_DATA")
                                                                          : APP_DEFAULT_DATA));
    rc = fs_read_file(path, 4096, &b);
    if (rc < 0) {
        err_prefix(rc, "API token (set EDGECD_TOKEN, --token-file or --data)");
        goto out;
    }
    while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
        b.ptr[--b.len] = '\0';
    *out = buf_detach(&b);
out:
    buf_dispose(&b);
    free(path);
    return rc;
}

/* GET path from the edgecd API; *out is the parsed JSON body. */
static int app_cli_get(const struct app_cli *o, const char *path, json_t **out)
{
    http_conn *c = NULL;
    struct http_response resp;
    char *token = NULL, *auth = NULL;
    const char *headers[3];
    int rc;

    *out = NULL;
    http_response_init(&resp);
    if ((rc = app_cli_token(o, &token)) < 0)
        goto out;
    if ((rc = http_conn_new(&c, o->server, NULL, NULL)) < 0)
        goto out;
    auth = xasprintf("Authorization: Bearer %s", token);
    headers[0] = auth;
    headers[1] = "Accept: application/json";
    headers[2] = NULL;
    if ((rc = http_request(c, "GET", path, headers, NULL, 0, &resp)) < 0)
        goto out;
    if (resp.status != 200) {
        json_t *e = NULL;
        const char *msg = NULL;
        if (doc_parse_json(&e, buf_cstr(&resp.body), resp.body.len, o->server, NULL) == 0)
            msg = doc_get_str(e, "error");
        rc = err_set(resp.status == 404   ? ERR_NOTFOUND
                     : resp.status == 401 ? ERR_AUTH
                                          : ERR_GENERIC,
                     "%s%s: HTTP %d: %s", o->server, path, resp.status, msg ? msg : "error");
        json_decref(e);
        goto out;
    }
    rc = doc_parse_json(out, buf_cstr(&resp.body), resp.body.len, o->server, NULL);
out:
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    http_response_dispose(&resp);
    http_conn_free(c);
    return rc;
}

static const char *app_str(const json_t *app, const char *path)
{
    const char *s = doc_get_str(app, path);
    return s && *s ? s : "-";
}

static void app_print_row(const json_t *app)
{
    const char *rev = doc_get_str(app, "status.sync.revision");
    const json_t *conds = doc_get(app, "status.conditions");
    const char *err = json_is_array(conds) && json_array_size(conds)
                          ? doc_get_str(json_array_get(conds, 0), "message")
                          : NULL;
    printf("%-24s %-10s %-8.7s %-9zu %s\n", app_str(app, "metadata.name"),
           app_str(app, "status.sync.status"), rev && *rev ? rev : "-",
           json_array_size(doc_get(app, "status.resources")), err ? err : "");
}

static void app_print_detail(const json_t *app)
{
    size_t i;
    json_t *r;
    const json_t *conds = doc_get(app, "status.conditions");
    printf("Name:         %s\n", app_str(app, "metadata.name"));
    printf("Project:      %s\n", app_str(app, "spec.project"));
    printf("Repo:         %s\n", app_str(app, "spec.source.repoURL"));
    printf("Target:       %s\n", app_str(app, "spec.source.targetRevision"));
    printf("Path:         %s\n", app_str(app, "spec.source.path"));
    printf("Destination:  %s %s\n",
           doc_get_str(app, "spec.destination.server") ? app_str(app, "spec.destination.server")
                                                       : app_str(app, "spec.destination.name"),
           app_str(app, "spec.destination.namespace"));
    printf("Sync Status:  %s\n", app_str(app, "status.sync.status"));
    printf("Revision:     %s\n", app_str(app, "status.sync.revision"));
    if (json_is_array(conds) && json_array_size(conds))
        printf("Last Error:   %s\n", app_str(json_array_get(conds, 0), "message"));
    if (doc_get_str(app, "status.sourceMessage"))
        printf("Message:      %s\n", app_str(app, "status.sourceMessage"));
    printf("\n%-22s %-16s %-28s %-10s %s\n", "KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE");
    json_array_foreach(doc_get(app, "status.resources"), i, r)
    {
        printf("%-22s %-16s %-28s %-10s %s\n", app_str(r, "kind"), app_str(r, "namespace"),
               app_str(r, "name"), app_str(r, "status"),
               doc_get_str(r, "message") ? doc_get_str(r, "message") : "");
    }
}

static int app_run_list(const struct app_cli *o)
{
    json_t *list = NULL;
    size_t i;
    json_t *app;
    if (app_cli_get(o, "/api/v1/applications", &list) < 0)
        return cli_fail();
    if (!strcmp(o->output, "json")) {
        struct buf b = BUF_INIT;
        doc_emit_json(&b, list, 1);
        printf("%s\n", buf_cstr(&b));
        buf_dispose(&b);
    } else {
        printf("%-24s %-10s %-8s %-9s %s\n", "NAME", "SYNC", "REVISION", "RESOURCES", "ERROR");
        json_array_foreach(doc_get(list, "items"), i, app) app_print_row(app);
    }
    json_decref(list);
    return 0;
}

static int app_run_get(const struct app_cli *o, const char *name)
{
    json_t *app = NULL;
    struct buf path = BUF_INIT;
    buf_puts(&path, "/api/v1/applications/");
    http_query_escape(&path, name);
    if (app_cli_get(o, buf_cstr(&path), &app) < 0) {
        buf_dispose(&path);
        return cli_fail();
    }
    buf_dispose(&path);
    if (!strcmp(o->output, "json")) {
        struct buf b = BUF_INIT;
        doc_emit_json(&b, app, 1);
        printf("%s\n", buf_cstr(&b));
        buf_dispose(&b);
    } else {
        app_print_detail(app);
    }
    json_decref(app);
    return 0;
}

static int cmd_app_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"token-file", required_argument, NULL, 't'},
        {"data", required_argument, NULL, 'd'},   {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct app_cli o = {0};
    const char *verb;
    int c;

    o.server = getenv("EDGECD_SERVER") ? getenv("EDGECD_SERVER") : APP_DEFAULT_SERVER;
    o.output = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:t:d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.server = optarg;
            break;
        case 't':
            o.token_file = optarg;
            break;
        case 'd':
            o.data_dir = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "json") != 0) {
                fprintf(stderr, "edgecd: -o takes json\n");
                return 2;
            }
            o.output = optarg;
            break;
        case 'h':
            printf("usage: edgecd app %s\n%s\n", cli_cmd_app.usage, cli_cmd_app.help);
            return 0;
        default:
            return cli_usage(&cli_cmd_app);
        }
    }
    if (optind >= argc)
        return cli_usage(&cli_cmd_app);
    verb = argv[optind];
    if (!strcmp(verb, "list") && optind + 1 == argc)
        return app_run_list(&o);
    if (!strcmp(verb, "get") && optind + 2 == argc)
        return app_run_get(&o, argv[optind + 1]);
    return cli_usage(&cli_cmd_app);
}

const struct cli_cmd cli_cmd_app = {
    "app",
    "[--server URL] [--token-file FILE | --data DIR] [-o json] list | get NAME",
    "list applications or show one, with sync status, revision, resources and last error "
    "(server from EDGECD_SERVER, token from EDGECD_TOKEN when not given)",
    cmd_app_run,
};
