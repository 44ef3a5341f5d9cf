/*
 * `edgecd account ...`: local accounts and their API tokens, worked on
 * the data directory's store directly (like the backup commands), so an
 * operator on the node can always get back in: reset a forgotten admin
 * password, make the first tokens for automation, revoke a leaked one,
 * whether or not `edgecd serve` is running (SQLite serialises the two).
 * Over the network the same is done with the API (/api/v1/account).
 *
 * Passwords come from stdin with --password-stdin (never argv, which other
 * users can see); without it a random one is made and printed once.
 * Tokens are printed once and kept only as SHA-256.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"
#include "core/password.h"
#include "model/account.h"
#include "storage/store.h"

#define ACCOUNT_DEFAULT_DATA "/var/lib/edgecd"

struct account_cli {
    const char *data;
    json_t *roles; /* --role, in order */
    int password_stdin;
    const char *id;
    long long expires_in;
    int nargs;
    char **args; /* the operands after the options */
};

static void account_cli_dispose(struct account_cli *o)
{
    json_decref(o->roles);
}

/* Options of every subcommand (each takes the ones that apply; the
 * usage lines say which). 0, or the exit code of a usage error. */
static int account_cli_parse(struct account_cli *o, int argc, char **argv,
                             const struct cli_cmd *cmd)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},       {"role", required_argument, NULL, 'r'},
        {"password-stdin", no_argument, NULL, 'p'},   {"id", required_argument, NULL, 'i'},
        {"expires-in", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    memset(o, 0, sizeof(*o));
    o->data = getenv("EDGECD_DATA") ? getenv("EDGECD_DATA") : ACCOUNT_DEFAULT_DATA;
    o->roles = json_array();
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data = optarg;
            break;
        case 'r':
            json_array_append_new(o->roles, json_string(optarg));
            break;
        case 'p':
            o->password_stdin = 1;
            break;
        case 'i':
            o->id = optarg;
            break;
        case 'e':
            o->expires_in = strtoll(optarg, &end, 10);
            if (*end || end == optarg || o->expires_in < 0 ||
                o->expires_in > ACCOUNT_MAX_EXPIRES_IN) {
                fprintf(stderr, "edgecd: --expires-in: seconds, 0 (never) to ten years\n");
                return 2;
            }
            break;
        default:
            return cli_usage(cmd);
        }
    }
    o->nargs = argc - optind;
    o->args = argv + optind;
    return 0;
}

/* The data directory's store; it must exist (a typo must not make a new,
 * empty one). */
static int account_open(store **out, const char *data)
{
    char *db = xasprintf("%s/state.db", data);
    int rc = fs_exists(db)
                 ? store_open(out, db)
                 : err_set(ERR_NOTFOUND, "%s: no edgecd data directory (no state.db)", data);
    free(db);
    return rc;
}

/* The password: one line of stdin, or a new random one (*printed = 1:
 * the caller shows it). */
static int account_password(const struct account_cli *o, char **out, int *printed)
{
    char line[PASSWORD_MAX + 2];
    size_t n;

    *out = NULL;
    *printed = 0;
    if (!o->password_stdin) {
        *printed = 1;
        return password_random_text(out, 18);
    }
    if (!fgets(line, sizeof(line), stdin))
        return err_set(ERR_INVALID, "password: nothing on stdin");
    n = strcspn(line, "\r\n");
    if (n > PASSWORD_MAX)
        return err_set(ERR_INVALID, "password: longer than %d bytes", PASSWORD_MAX);
    line[n] = '\0';
    *out = xstrdup(line);
    memset(line, 0, sizeof(line));
    return 0;
}

static int account_run_list(int argc, char **argv);
static int account_run_create(int argc, char **argv);
static int account_run_delete(int argc, char **argv);
static int account_run_passwd(int argc, char **argv);
static int account_run_enable(int argc, char **argv);
static int account_run_token(int argc, char **argv);

static const struct cli_sub account_subs[] = {
    {"list", "[--data DIR]", "list accounts, their roles and how many tokens each has",
     account_run_list},
    {"create", "NAME [--role role:X]... [--password-stdin] [--data DIR]",
     "add an account (without --password-stdin a random password is printed)", account_run_create},
    {"delete", "NAME [--data DIR]", "delete an account with its sessions and tokens",
     account_run_delete},
    {"passwd", "NAME [--password-stdin] [--data DIR]",
     "set a password (ends the account's sessions; without --password-stdin a random one is "
     "printed)",
     account_run_passwd},
    {"disable", "NAME [--data DIR]",
     "stop an account from logging in; its sessions and tokens stop working", account_run_enable},
    {"enable", "NAME [--data DIR]", "let a disabled account log in again", account_run_enable},
    {"token",
     "create NAME [--id ID] [--role role:X] [--expires-in SECONDS] | list [NAME] | "
     "revoke NAME ID [--data DIR]",
     "API tokens: create prints the token once", account_run_token},
};

static int cmd_account_run(int argc, char **argv);

const struct cli_cmd cli_cmd_account = {
    "account",
    "list|create|delete|passwd|disable|enable|token ... [--data DIR]",
    "Local accounts and their API tokens, worked on the data directory (with or without a "
    "running server): list, create, delete, set a password, disable, enable, make and revoke "
    "tokens.",
    cmd_account_run,
};

static int cmd_account_run(int argc, char **argv)
{
    return cli_dispatch(&cli_cmd_account, account_subs,
                        sizeof(account_subs) / sizeof(account_subs[0]), argc, argv);
}

static int account_run_list(int argc, char **argv)
{
    struct account_cli o;
    struct store_account *v = NULL;
    struct store_token *t = NULL;
    size_t n = 0, nt = 0;
    store *st = NULL;
    int rc;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0 || o.nargs != 0) {
        account_cli_dispose(&o);
        return rc ? rc : cli_usage(&cli_cmd_account);
    }
    if (account_open(&st, o.data) < 0 || store_account_list(st, &v, &n) < 0 ||
        store_token_list(st, NULL, &t, &nt) < 0) {
        rc = cli_fail();
        goto out;
    }
    printf("%-24s %-8s %-7s %s\n", "NAME", "ENABLED", "TOKENS", "ROLES");
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        for (size_t j = 0; j < nt; j++)
            k += !strcmp(t[j].account, v[i].name);
        printf("%-24s %-8s %-7zu %s\n", v[i].name, v[i].enabled ? "true" : "false", k,
               v[i].roles[0] ? v[i].roles : "-");
    }
out:
    store_accounts_free(v, n);
    store_tokens_free(t, nt);
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}

static int account_run_create(int argc, char **argv)
{
    struct account_cli o;
    struct store_account a = {0};
    char *pw = NULL;
    store *st = NULL;
    int rc, printed = 0;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0 || o.nargs != 1) {
        account_cli_dispose(&o);
        return rc ? rc : cli_usage(&cli_cmd_account);
    }
    a.name = o.args[0];
    a.enabled = 1;
    if (!account_name_ok(a.name)) {
        err_set(ERR_INVALID, "%s: an account name is 1 to 63 letters, digits, '.', '_' or '-'",
                a.name);
        rc = cli_fail();
        goto out;
    }
    if (account_roles_parse(o.roles, &a.roles) < 0 || account_password(&o, &pw, &printed) < 0 ||
        password_hash(&a.hash, pw) < 0 || account_open(&st, o.data) < 0 ||
        store_account_add(st, &a) < 0) {
        rc = cli_fail();
        goto out;
    }
    if (printed)
        printf("account %s created; password: %s\n", a.name, pw);
    else
        printf("account %s created\n", a.name);
out:
    if (pw)
        memset(pw, 0, strlen(pw));
    free(pw);
    free(a.hash);
    free(a.roles);
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}

static int account_run_delete(int argc, char **argv)
{
    struct account_cli o;
    store *st = NULL;
    int rc;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0 || o.nargs != 1) {
        account_cli_dispose(&o);
        return rc ? rc : cli_usage(&cli_cmd_account);
    }
    if (account_open(&st, o.data) < 0 || store_account_delete(st, o.args[0]) < 0)
        rc = cli_fail();
    else
        printf("account %s deleted\n", o.args[0]);
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}

/* enable and disable: argv[0] says which. */
static int account_run_enable(int argc, char **argv)
{
    struct account_cli o;
    int enable = !strcmp(argv[0], "enable"), rc;
    store *st = NULL;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0 || o.nargs != 1) {
        account_cli_dispose(&o);
        return rc ? rc : cli_usage(&cli_cmd_account);
    }
    if (account_open(&st, o.data) < 0 || store_account_set_enabled(st, o.args[0], enable) < 0)
        rc = cli_fail();
    else
        printf("account %s %s\n", o.args[0], enable ? "enabled" : "disabled");
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}

static int account_run_passwd(int argc, char **argv)
{
    struct account_cli o;
    char *pw = NULL, *hash = NULL;
    store *st = NULL;
    int rc, printed = 0;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0 || o.nargs != 1) {
        account_cli_dispose(&o);
        return rc ? rc : cli_usage(&cli_cmd_account);
    }
    if (account_password(&o, &pw, &printed) < 0 || password_hash(&hash, pw) < 0 ||
        account_open(&st, o.data) < 0 || store_account_set_hash(st, o.args[0], hash, NULL) < 0) {
        rc = cli_fail();
    } else if (printed) {
        printf("password of %s set to: %s (its sessions ended)\n", o.args[0], pw);
    } else {
        printf("password of %s set (its sessions ended)\n", o.args[0]);
    }
    if (pw)
        memset(pw, 0, strlen(pw));
    free(pw);
    free(hash);
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}

static int account_token_create(const struct account_cli *o, store *st)
{
    struct store_token t = {0};
    struct store_account a;
    const char *role = json_string_value(json_array_get(o->roles, 0));
    char *token = NULL, hex[65], id[17];
    int rc;

    if (json_array_size(o->roles) > 1 || (role && !account_role_ok(role)))
        return err_set(ERR_INVALID, "--role: one role, role:NAME");
    if (o->id && !account_name_ok(o->id))
        return err_set(ERR_INVALID, "--id: 1 to 63 letters, digits, '.', '_' or '-'");
    if ((rc = store_account_get(st, o->args[1], &a)) < 0)
        return rc;
    store_account_dispose(&a);
    if ((rc = account_token_new(&token, hex, id)) < 0)
        return rc;
    t.account = o->args[1];
    t.id = (char *)(o->id ? o->id : id);
    t.sha = hex;
    t.role = (char *)(role ? role : "");
    t.issued_unix = (long long)time(NULL);
    t.expires_unix = o->expires_in ? t.issued_unix + o->expires_in : 0;
    if ((rc = store_token_add(st, &t)) == 0)
        printf("%s\n", token);
    memset(token, 0, strlen(token));
    free(token);
    return rc;
}

static void account_print_time(long long t)
{
    char when[32] = "never";
    time_t tt = (time_t)t;
    struct tm tm;
    if (t && gmtime_r(&tt, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf(" %-21s", when);
}

static int account_run_token(int argc, char **argv)
{
    struct account_cli o;
    struct store_token *t = NULL;
    size_t nt = 0;
    store *st = NULL;
    const char *verb;
    int rc;

    if ((rc = account_cli_parse(&o, argc, argv, &cli_cmd_account)) != 0) {
        account_cli_dispose(&o);
        return rc;
    }
    verb = o.nargs ? o.args[0] : "";
    if (!((!strcmp(verb, "create") && o.nargs == 2) || (!strcmp(verb, "list") && o.nargs <= 2) ||
          (!strcmp(verb, "revoke") && o.nargs == 3))) {
        account_cli_dispose(&o);
        return cli_usage(&cli_cmd_account);
    }
    if (account_open(&st, o.data) < 0) {
        rc = cli_fail();
    } else if (!strcmp(verb, "create")) {
        if (account_token_create(&o, st) < 0)
            rc = cli_fail();
    } else if (!strcmp(verb, "revoke")) {
        if (store_token_delete(st, o.args[1], o.args[2]) < 0)
            rc = cli_fail();
        else
            printf("token %s of %s revoked\n", o.args[2], o.args[1]);
    } else if (store_token_list(st, o.nargs == 2 ? o.args[1] : NULL, &t, &nt) < 0) {
        rc = cli_fail();
    } else {
        printf("%-24s %-20s %-21s %-21s %s\n", "ACCOUNT", "ID", "ISSUED", "EXPIRES", "ROLE");
        for (size_t i = 0; i < nt; i++) {
            printf("%-24s %-20s", t[i].account, t[i].id);
            account_print_time(t[i].issued_unix);
            account_print_time(t[i].expires_unix);
            printf(" %s\n", t[i].role[0] ? t[i].role : "(the account's)");
        }
    }
    store_tokens_free(t, nt);
    store_close(st);
    account_cli_dispose(&o);
    return rc;
}
