/*
 * `edgecd repo add|list|rm`: the credentials edgecd uses for repository
 * URLs (or URL prefixes), kept in the data directory's state.db with the
 * secret sealed under keys/secret.key. Handlers for cmd_repo.c's table;
 * each takes argv[0] = the subcommand name and returns the exit code.
 */
#ifndef EDGECD_CLI_CMD_REPO_CREDS_H
#define EDGECD_CLI_CMD_REPO_CREDS_H

int repo_creds_add(int argc, char **argv);
int repo_creds_list(int argc, char **argv);
int repo_creds_rm(int argc, char **argv);

#endif
