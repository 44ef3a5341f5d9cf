/*
 * The two template languages of ApplicationSets, applied to every string
 * (and every mapping key) of an Application template:
 *
 *   - fasttemplate, Argo CD's default: "{{path.basename}}" is replaced by
 *     the parameter of that name (spaces inside the braces are trimmed); a
 *     name that is not a parameter is left as written, as Argo CD does.
 *     Parameters are flat: {"path.basename": "web"}.
 *
 *   - goTemplate: a subset of Go's text/template with Argo CD's functions
 *     (sprig's names and meaning). Actions hold pipelines of fields
 *     (.path.basename, $.values.x), literals ("a", `b`, 3, true, nil),
 *     parenthesised pipelines and function calls, joined by '|'; `{{-` and
 *     `-}}` trim the space beside them, Go's comment actions are skipped, and
 *     `if` / `else if` / `else` / `end` choose text. Parameters nest:
 *     {"path": {"basename": "web", "segments": ["apps", "web"]}}.
 *     Functions: index, default, empty, coalesce, required, lower, upper,
 *     title, trim, trimPrefix, trimSuffix, trimAll, replace, trunc, quote,
 *     squote, cat, contains, hasPrefix, hasSuffix, join, splitList, list,
 *     dict, toJson, toYaml, toString, printf, print, len, eq, ne, lt, le, gt,
 *     ge, not, and, or, normalize (Argo CD's name sanitiser).
 *     `range`, `with`, `define`, `template`, `block` and variables are
 *     refused with ERR_UNSUPPORTED; an unknown function, a wrong argument
 *     or (with missingkey=error) a missing key is ERR_INVALID naming it.
 *     Without missingkey=error a missing key prints "<no value>", as Go's.
 *
 * Pure functions: no I/O, any thread. Outputs are new; the caller frees.
 */
#ifndef EDGECD_ENGINE_APPTMPL_H
#define EDGECD_ENGINE_APPTMPL_H

#include <jansson.h>

/* A rendered string is at most this long (a template cannot blow up). */
#define APPTMPL_MAX_OUTPUT (1u << 20)

struct apptmpl_options {
    int go;               /* goTemplate */
    int missingkey_error; /* goTemplateOptions: [missingkey=error] */
};

/* Render one string. *out is a new string. */
int apptmpl_string(char **out, const char *text, const json_t *params,
                   const struct apptmpl_options *o);

/* Render every string and key of tmpl (borrowed) into a new tree *out.
 * Errors name the field ("metadata.name: ..."). */
int apptmpl_render(json_t **out, const json_t *tmpl, const json_t *params,
                   const struct apptmpl_options *o);

/* Argo CD's sanitizeName: lower case, every character outside [-a-z0-9.]
 * made '-', at most 253 characters, '-' and '.' trimmed at both ends. A
 * new string. */
char *apptmpl_normalize(const char *s);

#endif
