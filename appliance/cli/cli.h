/*
 * The command line. Every subcommand is a struct cli_cmd in one table
 * (cli.c); `edgecd help` and each command's --help come from it. Commands
 * print results on stdout, and errors once, on stderr, as
 * "edgecd: <err_last()>", exiting 1 (2 for usage errors).
 */
#ifndef EDGECD_CLI_CLI_H
#define EDGECD_CLI_CLI_H

#include <stddef.h>

struct cli_cmd {
    const char *name;  /* "version", "serve", "app" */
    const char *usage; /* one line of arguments */
    const char *help;  /* one sentence */
    /* argv[0] is the command name. Returns the process exit code. */
    int (*run)(int argc, char **argv);
};

/* A subcommand of a command with several (`edgecd repo fetch`). */
struct cli_sub {
    const char *name;
    const char *usage;
    const char *help;
    /* argv[0] is the subcommand name. Returns the process exit code. */
    int (*run)(int argc, char **argv);
};

/* Run the subcommand argv[1] names from subs; with none or --help, list
 * them (exit 2, or 0 for --help). */
int cli_dispatch(const struct cli_cmd *cmd, const struct cli_sub *subs, size_t n, int argc,
                 char **argv);

/* The commands, one per file. */
extern const struct cli_cmd cli_cmd_version;
extern const struct cli_cmd cli_cmd_serve;
extern const struct cli_cmd cli_cmd_app;
extern const struct cli_cmd cli_cmd_appset;
extern const struct cli_cmd cli_cmd_cluster;
extern const struct cli_cmd cli_cmd_render;
extern const struct cli_cmd cli_cmd_repo;
extern const struct cli_cmd cli_cmd_admin;
extern const struct cli_cmd cli_cmd_backup;
extern const struct cli_cmd cli_cmd_restore;
extern const struct cli_cmd cli_cmd_account;
extern const struct cli_cmd cli_cmd_login;
extern const struct cli_cmd cli_cmd_schedule;

int cli_main(int argc, char **argv);

/* Print "usage: edgecd NAME USAGE" and the help to stderr; returns 2. */
int cli_usage(const struct cli_cmd *cmd);

/* Report err_last() on stderr as "edgecd: ..." and return 1. */
int cli_fail(void);

/* 1 if arg is -h or --help. */
int cli_is_help(const char *arg);

#endif
