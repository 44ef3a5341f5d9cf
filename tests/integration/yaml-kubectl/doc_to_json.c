/*
 * doc_to_json FILE: print what doc_parse_yaml makes of FILE as one JSON
 * array (one element per document), for comparison with what kubectl
 * makes of the same file. Exit 1 with the error on stderr if parsing
 * fails, so the test can check that both refuse the same inputs.
 */
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "doc/doc.h"

int main(int argc, char **argv)
{
    struct buf data = BUF_INIT, out = BUF_INIT;
    json_t *docs = NULL;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: doc_to_json FILE\n");
        return 2;
    }
    if (fs_read_file(argv[1], 64u << 20, &data) < 0 ||
        doc_parse_yaml(&docs, data.ptr ? data.ptr : "", data.len, argv[1], NULL) < 0) {
        fprintf(stderr, "doc_to_json: %s\n", err_last());
        goto out;
    }
    doc_emit_json(&out, docs, 1);
    printf("%s\n", buf_cstr(&out));
    rc = 0;
out:
    json_decref(docs);
    buf_dispose(&data);
    buf_dispose(&out);
    return rc;
}
