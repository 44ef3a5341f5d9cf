/*
 * Tests for appliance/engine/apptmpl.c: fasttemplate as Argo CD replaces
 * (unknown names kept), the goTemplate subset (fields, index, pipes, the
 * functions, if/else, trim markers) with the results Go's text/template
 * and sprig give, and the errors: unknown function, missing key with
 * missingkey=error, refused actions.
 */
#include "engine/apptmpl.h"

#include "core/err.h"
#include "doc/doc.h"
#include "test.h"

static json_t *params_go;
static json_t *params_fast;

static const struct apptmpl_options go = {1, 0};
static const struct apptmpl_options go_strict = {1, 1};
static const struct apptmpl_options fast = {0, 0};

/* The rendering of text, or the error as "ERR: message" (new). */
static char *render(const char *text, const json_t *params, const struct apptmpl_options *o)
{
    char *out = NULL;
    if (apptmpl_string(&out, text, params, o) < 0) {
        out = xasprintf("ERR: %s", err_last());
        err_clear();
    }
    return out;
}

#define CHECK_RENDER(text, params, o, want)                                                        \
    do {                                                                                           \
        char *got_ = render(text, params, o);                                                      \
        int same_ = !strcmp(got_, want);                                                           \
        if (!same_)                                                                                \
            fprintf(stderr, "%s:%d: %s gave \"%s\", expected \"%s\"\n", __FILE__, __LINE__, text,  \
                    got_, want);                                                                   \
        free(got_);                                                                                \
        if (!same_)                                                                                \
            TEST_FAIL_("render");                                                                  \
    } while (0)

#define CHECK_RENDER_ERR(text, params, o, part)                                                    \
    do {                                                                                           \
        char *got_ = render(text, params, o);                                                      \
        int ok_ = !strncmp(got_, "ERR: ", 5) && strstr(got_, part);                                \
        if (!ok_)                                                                                  \
            fprintf(stderr, "%s:%d: %s gave \"%s\", expected an error with \"%s\"\n", __FILE__,    \
                    __LINE__, text, got_, part);                                                   \
        free(got_);                                                                                \
        if (!ok_)                                                                                  \
            TEST_FAIL_("render error");                                                            \
    } while (0)

TEST(fasttemplate_replaces_parameters)
{
    CHECK_RENDER("{{path.basename}}-app", params_fast, &fast, "web-app");
    CHECK_RENDER("{{ path[1] }}/{{path[0]}}", params_fast, &fast, "web/apps");
    /* Argo CD leaves a name that is no parameter as written */
    CHECK_RENDER("{{nope}} and {{ .path.basename }}", params_fast, &fast,
                 "{{nope}} and {{ .path.basename }}");
    CHECK_RENDER("no template", params_fast, &fast, "no template");
    CHECK_RENDER("{{unclosed", params_fast, &fast, "{{unclosed");
}

TEST(gotemplate_fields_and_index)
{
    CHECK_RENDER("{{.path.basename}}", params_go, &go, "web");
    CHECK_RENDER("{{ index .path.segments 1 }}", params_go, &go, "web");
    CHECK_RENDER("{{ index .path \"basename\" }}", params_go, &go, "web");
    CHECK_RENDER("{{ $.path.path }}", params_go, &go, "apps/web");
    CHECK_RENDER("{{ .replicas }} {{ .enabled }} {{ .ratio }}", params_go, &go, "3 true 0.5");
    CHECK_RENDER("{{ .path.segments }}", params_go, &go, "[apps web]");
    CHECK_RENDER("{{ .labels }}", params_go, &go, "map[env:prod tier:web]");
    CHECK_RENDER("{{ .nope }}", params_go, &go, "<no value>");
    CHECK_RENDER("{{ (index .path.segments 0) }}-{{ 42 }}-{{ \"a\\\"b\" }}-{{ `raw` }}", params_go,
                 &go, "apps-42-a\"b-raw");
    CHECK_RENDER_ERR("{{ index .path.segments 5 }}", params_go, &go, "index out of range");
    CHECK_RENDER_ERR("{{ .path.basename.x }}", params_go, &go, "can't evaluate field x");
}

TEST(gotemplate_functions)
{
    CHECK_RENDER("{{ .nope | default \"dflt\" }}", params_go, &go, "dflt");
    CHECK_RENDER("{{ .path.basename | default \"dflt\" }}", params_go, &go, "web");
    CHECK_RENDER("{{ default \"x\" \"\" }}", params_go, &go, "x");
    CHECK_RENDER("{{ .name | upper }} {{ \"ABC\" | lower }}", params_go, &go, "EDGE-ONE abc");
    CHECK_RENDER("{{ .name | replace \"-\" \"_\" }}", params_go, &go, "Edge_One");
    CHECK_RENDER("{{ .name | trunc 4 }}|{{ trunc -3 .name }}", params_go, &go, "Edge|One");
    CHECK_RENDER("{{ .name | quote }} {{ squote .name }}", params_go, &go,
                 "\"Edge-One\" 'Edge-One'");
    CHECK_RENDER("{{ .labels | toJson }}", params_go, &go, "{\"env\":\"prod\",\"tier\":\"web\"}");
    CHECK_RENDER("{{ toJson .path.segments }}", params_go, &go, "[\"apps\",\"web\"]");
    CHECK_RENDER("{{ .name | normalize }}", params_go, &go, "edge-one");
    CHECK_RENDER("{{ trimPrefix \"Edge-\" .name }}{{ trimSuffix \"-One\" .name }}", params_go, &go,
                 "OneEdge");
    CHECK_RENDER("{{ join \"/\" .path.segments }}", params_go, &go, "apps/web");
    CHECK_RENDER("{{ printf \"%s-%d\" .path.basename .replicas }}", params_go, &go, "web-3");
    CHECK_RENDER("{{ len .path.segments }} {{ eq .path.basename \"web\" }} {{ ne 1 2 }}", params_go,
                 &go, "2 true true");
    CHECK_RENDER("{{ and .enabled .name }} {{ or .nope \"b\" }} {{ not .enabled }}", params_go, &go,
                 "Edge-One b false");
    CHECK_RENDER("{{ title \"hello world\" }} {{ trim \"  x \" }}", params_go, &go,
                 "Hello World x");
    CHECK_RENDER("{{ .labels | toYaml }}", params_go, &go, "env: prod\ntier: web");
    CHECK_RENDER_ERR("{{ .name | frobnicate }}", params_go, &go,
                     "function \"frobnicate\" not defined");
    CHECK_RENDER_ERR("{{ upper }}", params_go, &go, "wrong number of arguments");
    CHECK_RENDER_ERR("{{ required \"name is needed\" .nope }}", params_go, &go,
                     "required: name is needed");
    CHECK_RENDER_ERR("{{ .name .name }}", params_go, &go, "non-function");
    CHECK_RENDER_ERR("{{ lt .name 3 }}", params_go, &go, "incompatible types");
}

TEST(gotemplate_if_and_trim)
{
    CHECK_RENDER("{{ if .enabled }}on{{ else }}off{{ end }}", params_go, &go, "on");
    CHECK_RENDER("{{ if .nope }}a{{ else if eq .replicas 3 }}b{{ else }}c{{ end }}", params_go, &go,
                 "b");
    CHECK_RENDER("{{ if not .enabled }}x{{ end }}y", params_go, &go, "y");
    CHECK_RENDER("a  {{- .path.basename -}}  b", params_go, &go, "awebb");
    CHECK_RENDER("a{{/* a comment */}}b", params_go, &go, "ab");
    CHECK_RENDER_ERR("{{ if .enabled }}x", params_go, &go, "without end");
    CHECK_RENDER_ERR("x{{ end }}", params_go, &go, "unexpected end");
    CHECK_RENDER_ERR("{{ range .path.segments }}{{ . }}{{ end }}", params_go, &go,
                     "\"range\" is not supported");
    CHECK_RENDER_ERR("{{ $x := 1 }}", params_go, &go, "variables are not supported");
    CHECK_RENDER_ERR("{{ .path.basename", params_go, &go, "unclosed action");
}

TEST(gotemplate_missingkey)
{
    CHECK_RENDER_ERR("{{ .nope }}", params_go, &go_strict, "map has no entry for key \"nope\"");
    CHECK_RENDER_ERR("{{ .path.nope }}", params_go, &go_strict, "no entry for key \"nope\"");
    CHECK_RENDER("{{ .path.basename }}", params_go, &go_strict, "web");
    /* index is not a field lookup: no error, as in Go */
    CHECK_RENDER("{{ index .path \"nope\" }}", params_go, &go_strict, "<no value>");
}

TEST(renders_a_tree)
{
    json_t *tmpl = json_pack("{s:{s:s, s:{s:s}}, s:{s:[s, i]}}", "metadata", "name",
                             "{{.path.basename}}", "labels", "{{.path.basename}}-key", "v", "spec",
                             "list", "{{ .name | lower }}", 7);
    json_t *out = NULL;
    CHECK_OK(apptmpl_render(&out, tmpl, params_go, &go));
    CHECK_STR(doc_get_str(out, "metadata.name"), "web");
    CHECK_STR(json_string_value(json_object_get(doc_get(out, "metadata.labels"), "web-key")), "v");
    CHECK_STR(json_string_value(json_array_get(doc_get(out, "spec.list"), 0)), "edge-one");
    CHECK(json_integer_value(json_array_get(doc_get(out, "spec.list"), 1)) == 7);
    json_decref(out);
    json_decref(tmpl);
    /* an error names the field */
    tmpl = json_pack("{s:{s:s}}", "spec", "x", "{{ bad }}");
    CHECK_ERR(apptmpl_render(&out, tmpl, params_go, &go), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "spec.x: {{ bad }}: function \"bad\" not defined");
    json_decref(tmpl);
}

TEST(normalize_as_argo_cd)
{
    char *s = apptmpl_normalize("--My_App.v2--");
    CHECK_STR(s, "my-app.v2");
    free(s);
}

int main(void)
{
    const char *go_text = "{\"path\":{\"path\":\"apps/web\",\"basename\":\"web\",\"segments\":"
                          "[\"apps\",\"web\"]},\"name\":\"Edge-One\",\"replicas\":3,"
                          "\"enabled\":true,\"ratio\":0.5,\"labels\":{\"tier\":\"web\","
                          "\"env\":\"prod\"}}";
    const char *fast_text = "{\"path\":\"apps/web\",\"path.basename\":\"web\",\"path[0]\":"
                            "\"apps\",\"path[1]\":\"web\"}";
    if (doc_parse_json(&params_go, go_text, strlen(go_text), "go", NULL) < 0 ||
        doc_parse_json(&params_fast, fast_text, strlen(fast_text), "fast", NULL) < 0)
        return 2;
    RUN(fasttemplate_replaces_parameters);
    RUN(gotemplate_fields_and_index);
    RUN(gotemplate_functions);
    RUN(gotemplate_if_and_trim);
    RUN(gotemplate_missingkey);
    RUN(renders_a_tree);
    RUN(normalize_as_argo_cd);
    json_decref(params_go);
    json_decref(params_fast);
    return TEST_END();
}
