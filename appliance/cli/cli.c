#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const struct cli_cmd *const cli_cmds[] = {
    &cli_cmd_serve,   &cli_cmd_app,    &cli_cmd_appset,  &cli_cmd_cluster,  &cli_cmd_render,
    &cli_cmd_repo,    &cli_cmd_backup, &cli_cmd_restore, &cli_cmd_schedule, &cli_cmd_admin,
    &cli_cmd_account, &cli_cmd_login,  &cli_cmd_version,
};
#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static int cli_help(FILE *f)
{
    fprintf(f, "edgecd: GitOps for Kubernetes clusters at edge sites\n\nusage: edgecd COMMAND "
               "[ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < CLI_NCMDS; i++)
        fprintf(f, "  %-8s %s\n", cli_cmds[i]->name, cli_cmds[i]->help);
    fprintf(f, "\n`edgecd COMMAND --help` describes a command.\n");
    return f == stdout ? 0 : 2;
}

int cli_is_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_usage(const struct cli_cmd *cmd)
{
    fprintf(stderr, "usage: edgecd %s %s\n%s\n", cmd->name, cmd->usage, cmd->help);
    return 2;
}

int cli_fail(void)
{
    fprintf(stderr, "edgecd: %s\n", err_last());
    return 1;
}

int cli_dispatch(const struct cli_cmd *cmd, const struct cli_sub *subs, size_t n, int argc,
                 char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        printf("usage: edgecd %s SUBCOMMAND\n%s\n\n", cmd->name, cmd->help);
        for (size_t i = 0; i < n; i++)
            printf("  edgecd %s %s %s\n      %s\n", cmd->name, subs[i].name, subs[i].usage,
                   subs[i].help);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "edgecd %s: unknown subcommand \"%s\"\n", cmd->name, argv[1]);
    return 2;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_help(stderr);
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help"))
        return cli_help(stdout);
    for (size_t i = 0; i < CLI_NCMDS; i++)
        if (!strcmp(argv[1], cli_cmds[i]->name))
            return cli_cmds[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "edgecd: unknown command \"%s\"\n", argv[1]);
    return cli_help(stderr);
}
