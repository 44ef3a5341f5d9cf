/*
 * Running an external renderer (helm, kustomize) safely on an appliance.
 * Internal to render/: helm.c and kustomize.c share it.
 *
 *   - the tool sees only a private 0700 folder holding a copy of what it
 *     needs, read from the Git mirror through render_fs (so a path cannot
 *     leave the repository, and nothing is checked out where the rest of
 *     the system could see it);
 *   - the environment is cleared: HOME and helm's cache, config and data
 *     folders point inside that folder (no repository index, no
 *     credentials, no plugins), PATH is the system's;
 *   - the child runs in its own process group with /dev/null as input, is
 *     killed when the time limit passes, and its output is read up to a
 *     size limit;
 *   - the caller removes the folder afterwards, whatever happened.
 */
#ifndef EDGECD_RENDER_TOOL_H
#define EDGECD_RENDER_TOOL_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "render/fs.h"

/* 32 MiB of output, 60 s, folders 64 deep. */
#define RENDER_TOOL_MAX_OUTPUT (32u << 20)
#define RENDER_TOOL_DEFAULT_TIMEOUT 60
#define RENDER_TOOL_MAX_DEPTH 64

/* The binary to run: `configured` if set (it must be executable), else
 * `name` found on PATH. *out is new. ERR_UNSUPPORTED names config_key
 * when there is none. */
int render_tool_find(const char *configured, const char *name, const char *config_key,
                     const char *missing_hint, char **out);

/* Copy folder src of fs (recursively; "" is the whole tree) to the local
 * folder dst, files 0600, folders 0700. A `.git` entry is skipped. */
int render_tool_copy(render_fs *fs, const char *src, const char *dst);

/* Run argv (argv[0] a path) in folder work with the cleared environment
 * above, for at most timeout seconds (<= 0: the default), and parse its
 * standard output (YAML) into a new JSON array of its mapping documents.
 * what names the tool in errors ("helm template"): ERR_TIMEOUT when
 * stopped, ERR_TOOLARGE past the output limit, ERR_INVALID with the
 * tool's own message when it fails or with file:line:col of its output,
 * ERR_UNSUPPORTED when it cannot be started. */
int render_tool_run(char *const argv[], const char *work, long timeout, const char *what,
                    json_t **out_objects);

#endif
