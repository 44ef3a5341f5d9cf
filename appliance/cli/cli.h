/*
 * The command line. Every subcommand is a struct cli_cmd in one table
 * (cli.c); `edgecd help` and each command's --help come from it. Commands
 * print results on stdout, and errors once, on stderr, as
 * "edgecd: <err_last()>", exiting 1 (2 for usage errors).
 */
#ifndef EDGECD_CLI_CLI_H
#define EDGECD_CLI_CLI_H

struct cli_cmd {
    const char *name;  /* "version", "serve", "app" */
    const char *usage; /* one line of arguments */
    const char *help;  /* one sentence */
    /* argv[0] is the command name. Returns the process exit code. */
    int (*run)(int argc, char **argv);
};

/* The commands, one per file. */
extern const struct cli_cmd cli_cmd_version;
extern const struct cli_cmd cli_cmd_serve;
extern const struct cli_cmd cli_cmd_app;
extern const struct cli_cmd cli_cmd_render;
extern const struct cli_cmd cli_cmd_repo;

int cli_main(int argc, char **argv);

/* Print "usage: edgecd NAME USAGE" and the help to stderr; returns 2. */
int cli_usage(const struct cli_cmd *cmd);

/* Report err_last() on stderr as "edgecd: ..." and return 1. */
int cli_fail(void);

/* 1 if arg is -h or --help. */
int cli_is_help(const char *arg);

#endif
