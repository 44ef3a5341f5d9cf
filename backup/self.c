/*
 * Self-backup and restore-self (self.h). The snapshot of the store is
 * taken into a temporary file inside the data directory (the same
 * filesystem as state.db, private, and never in /tmp where it could
 * outlive a crash in the open), streamed into the archive and removed.
 * The second location gets a byte copy of the archive that was just
 * committed, so both copies are the same backup with the same SHA-256.
 *
 * Restore stages every file in <data>/.restore-XXXXXX and renames into
 * place only after the archive's end was reached and checked; the stale
 * WAL files of a replaced state.db are removed first, or SQLite would
 * replay an old log onto the restored database.
 */
#include "backup/self.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/archive.h"
#include "backup/backup.h"
#include "backup/location.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "doc/doc.h"

#define SELF_STATE_ENTRY "appliance/state.db"
#define SELF_CONFIG_ENTRY "appliance/config/site"
#define SELF_SETTINGS_ENTRY "appliance/config/settings"
#define SELF_SECRETS_ENTRY "appliance/config/secrets"
#define SELF_KEYS_ENTRY "appliance/keys/"
#define SELF_MAX_CONFIG (4u << 20)

static void self_time(char out[21], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "self-20261123200102" -> Unix seconds; -1 if name is not one. */
static int64_t self_name_time(const char *name)
{
    struct tm tm;
    const char *p = name + strlen(SELF_PREFIX);
    if (!str_has_prefix(name, SELF_PREFIX) || strlen(p) != 14)
        return -1;
    for (size_t i = 0; i < 14; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(p, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* 1 if path is dir itself or below it (both as given, made absolute by
 * realpath when they exist). */
static int self_path_within(const char *path, const char *dir)
{
    char *rp = realpath(path, NULL), *rd = realpath(dir, NULL);
    int in = 0;
    if (rp && rd) {
        size_t n = strlen(rd);
        in = strncmp(rp, rd, n) == 0 && (rp[n] == '/' || rp[n] == '\0');
    }
    free(rp);
    free(rd);
    return in;
}

int self_key_load(struct crypt_key *out, const char *passphrase_file, const char *key_file,
                  const char *data_dir)
{
    const char *file = passphrase_file && passphrase_file[0] ? passphrase_file : key_file;
    memset(out, 0, sizeof(*out));
    if ((passphrase_file && passphrase_file[0]) && (key_file && key_file[0]))
        return err_set(ERR_INVALID, "a recovery passphrase file or a key file, not both");
    if (!file || !file[0])
        return err_set(ERR_INVALID, "no recovery passphrase file or key file given");
    if (data_dir && self_path_within(file, data_dir))
        return err_set(ERR_INVALID,
                       "%s: the recovery key is inside the data directory %s, whose keys it "
                       "protects: keep it elsewhere (and a copy off the node)",
                       file, data_dir);
    return file == key_file ? crypt_key_load_file(out, file) : crypt_key_load_passphrase(out, file);
}

/* The store's snapshot and the files of the archive, in order. */
static int self_write_entries(archive_writer *w, store *st, const struct self_options *o,
                              json_t *files)
{
    char *snap = xasprintf("%s/.self-snapshot-XXXXXX", o->data_dir);
    DIR *d = NULL;
    struct dirent *de;
    char *keys = NULL;
    int fd, rc;

    /* mkstemp makes it 0600; SQLite takes the empty file as a new
     * database. */
    if ((fd = mkstemp(snap)) < 0) {
        rc = err_set(ERR_IO, "%s: %s", snap, strerror(errno));
        goto out;
    }
    close(fd);
    if ((rc = store_snapshot(st, snap)) < 0 ||
        (rc = archive_writer_add_file(w, SELF_STATE_ENTRY, snap)) < 0)
        goto out;
    if (o->config_path && o->config_path[0]) {
        if ((rc = archive_writer_add_file(w, SELF_CONFIG_ENTRY, o->config_path)) < 0)
            goto out;
        json_object_set_new(files, "site", json_string(o->config_path));
    }
    if (o->settings_file && o->settings_file[0]) {
        if ((rc = archive_writer_add_file(w, SELF_SETTINGS_ENTRY, o->settings_file)) < 0)
            goto out;
        json_object_set_new(files, "settings", json_string(o->settings_file));
    }
    if (o->secrets_file && o->secrets_file[0]) {
        if ((rc = archive_writer_add_file(w, SELF_SECRETS_ENTRY, o->secrets_file)) < 0)
            goto out;
        json_object_set_new(files, "secrets", json_string(o->secrets_file));
    }
    keys = xasprintf("%s/keys", o->data_dir);
    if (!(d = opendir(keys))) {
        if (errno != ENOENT)
            rc = err_set(ERR_IO, "%s: %s", keys, strerror(errno));
        goto out;
    }
    while ((de = readdir(d))) {
        char *file, *entry;
        struct stat sb;
        if (de->d_name[0] == '.')
            continue; /* ., .., and temporary files of an atomic write */
        file = xasprintf("%s/%s", keys, de->d_name);
        entry = xasprintf("%s%s", SELF_KEYS_ENTRY, de->d_name);
        if (lstat(file, &sb) == 0 && S_ISREG(sb.st_mode))
            rc = archive_writer_add_file(w, entry, file);
        free(file);
        free(entry);
        if (rc < 0)
            goto out;
    }
out:
    if (d)
        closedir(d);
    unlink(snap);
    free(snap);
    free(keys);
    return rc;
}

/* Copy the committed archive of name from one location to another
 * (folders or S3, either way round), byte for byte. */
static int self_copy(const char *from_dir, const char *to_dir, const char *name,
                     const json_t *record)
{
    struct location_tx tx;
    char *archive_name = xasprintf("%s%s", name, BACKUP_EXT_ENCRYPTED), *src = NULL;
    unsigned char *piece = xmalloc(65536);
    void *raw = NULL;
    json_t *committed = NULL;
    int rc;

    memset(&tx, 0, sizeof(tx));
    tx.fd = tx.lock_fd = -1;
    if ((rc = location_get(from_dir, name, &committed, &src)) < 0 ||
        (rc = location_raw_open(&raw, from_dir, src)) < 0 ||
        (rc = location_begin(&tx, to_dir, name, archive_name)) < 0)
        goto out;
    for (;;) {
        size_t k = 0, off = 0;
        if ((rc = location_raw_read(raw, piece, 65536, &k)) < 0)
            goto out;
        if (k == 0)
            break;
        if (tx.fd < 0) {
            if ((rc = location_tx_write(&tx, piece, k)) < 0)
                goto out;
            continue;
        }
        while (off < k) {
            ssize_t m = write(tx.fd, piece + off, k - off);
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0) {
                rc = err_set(ERR_IO, "%s: %s", tx.archive_path,
                             m < 0 ? strerror(errno) : "no progress");
                goto out;
            }
            off += (size_t)m;
        }
    }
    rc = location_commit(&tx, record);
out:
    location_raw_close(raw);
    location_abort(&tx); /* a no-op after commit */
    json_decref(committed);
    free(piece);
    free(archive_name);
    free(src);
    return rc;
}

int self_backup(store *st, const struct self_options *o, json_t **out_record)
{
    struct location_tx tx;
    archive_writer *w = NULL;
    json_t *manifest = NULL, *record = NULL, *files = json_object();
    char name[32], start[21], end[21], sha[65], *archive_name = NULL, *shown = NULL;
    int64_t now = o->now ? o->now : (int64_t)time(NULL);
    uint64_t size = 0;
    struct tm tm;
    time_t tt = (time_t)now;
    int rc, deleted = 0;

    if (out_record)
        *out_record = NULL;
    memset(&tx, 0, sizeof(tx));
    tx.fd = tx.lock_fd = -1;
    if (!o->key) {
        rc = err_set(ERR_INVALID, "self-backup: no recovery passphrase or key file (the keys "
                                  "are never written unencrypted)");
        goto out;
    }
    gmtime_r(&tt, &tm);
    strftime(name, sizeof(name), SELF_PREFIX "%Y%m%d%H%M%S", &tm);
    self_time(start, now);
    archive_name = xasprintf("%s%s", name, BACKUP_EXT_ENCRYPTED);
    if ((rc = location_begin(&tx, o->location, name, archive_name)) < 0)
        goto out;
    shown = xasprintf("%s/%s/%s", o->location, name, archive_name);
    if ((rc = tx.fd >= 0
                  ? archive_writer_new(&w, tx.fd, shown, o->key)
                  : archive_writer_new_sink(&w, location_tx_write, &tx, shown, o->key)) < 0 ||
        (rc = self_write_entries(w, st, o, files)) < 0)
        goto out;
    self_time(end, (int64_t)time(NULL));
    manifest = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "apiVersion",
                         "edgecd.io/v1alpha1", "kind", ARCHIVE_MANIFEST_KIND, "contents",
                         ARCHIVE_CONTENTS_APPLIANCE, "name", name, "phase", "Completed",
                         "edgecdVersion", o->edgecd_version ? o->edgecd_version : "unknown",
                         "formatVersion", ARCHIVE_FORMAT_VERSION, "startTimestamp", start,
                         "completionTimestamp", end, "files", files);
    if ((rc = archive_writer_finish(w, manifest, &size, sha)) < 0)
        goto out;
    record = json_pack(
        "{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s, s:s, s:O, s:{s:s, s:s, s:s, s:I, s:s, s:I}}}",
        "apiVersion", "edgecd.io/v1alpha1", "kind", SELF_RECORD_KIND, "metadata", "name", name,
        "status", "phase", "Completed", "startTimestamp", start, "completionTimestamp", end,
        "edgecdVersion", o->edgecd_version ? o->edgecd_version : "unknown", "files", files,
        "archive", "file", archive_name, "format", "edgecd", "encryption",
        o->key->kdf == CRYPT_KDF_KEYFILE ? "AES-256-GCM, key file" : "AES-256-GCM, passphrase",
        "size", (json_int_t)size, "sha256", sha, "entries",
        (json_int_t)json_array_size(json_object_get(manifest, "entries")) + 1);
    if ((rc = location_commit(&tx, record)) < 0)
        goto out;
    if (o->keep > 0 && (rc = self_prune(o->location, o->keep, &deleted)) < 0)
        goto out;
    if (o->second_location && o->second_location[0]) {
        if ((rc = self_copy(o->location, o->second_location, name, record)) < 0 ||
            (o->keep > 0 && (rc = self_prune(o->second_location, o->keep, NULL)) < 0)) {
            err_prefix(rc, "second location");
            goto out;
        }
    }
    if (out_record)
        *out_record = json_incref(record);
out:
    if (rc < 0)
        err_prefix(rc, "self-backup%s%s", archive_name ? " " : "", archive_name ? name : "");
    archive_writer_free(w);
    location_abort(&tx);
    json_decref(manifest);
    json_decref(record);
    json_decref(files);
    free(archive_name);
    free(shown);
    return rc;
}

/* 1 if rec is a sound self-backup's record. */
static int self_is_sound(const json_t *rec)
{
    const char *kind = doc_get_str(rec, "kind"), *name = doc_get_str(rec, "metadata.name");
    return kind && !strcmp(kind, SELF_RECORD_KIND) && name && self_name_time(name) >= 0 &&
           !json_object_get(rec, "problem");
}

int self_prune(const char *dir, int keep, int *out_deleted)
{
    json_t *list = NULL, *rec;
    size_t i, n;
    int rc, kept = 0, deleted = 0;

    if (out_deleted)
        *out_deleted = 0;
    if ((rc = location_list(dir, &list)) < 0)
        return rc;
    /* Newest first: list is sorted by name, and names sort by time. */
    n = json_array_size(list);
    for (i = n; i-- > 0;) {
        const char *name;
        rec = json_array_get(list, i);
        name = doc_get_str(rec, "metadata.name");
        if (!name || !str_has_prefix(name, SELF_PREFIX))
            continue;
        if (self_is_sound(rec) && kept < keep) {
            kept++;
            continue;
        }
        if (!self_is_sound(rec) && kept < keep)
            continue; /* damaged but newer than a kept one: left for a look */
        if ((rc = location_delete(dir, name)) < 0)
            break;
        deleted++;
    }
    json_decref(list);
    if (out_deleted)
        *out_deleted = deleted;
    return rc;
}

int self_last(const char *dir, int64_t *out)
{
    json_t *list = NULL;
    int found = 0;
    size_t i;

    if (location_list(dir, &list) < 0) {
        err_clear();
        return 0;
    }
    for (i = json_array_size(list); i-- > 0;) {
        const json_t *rec = json_array_get(list, i);
        if (self_is_sound(rec)) {
            *out = self_name_time(doc_get_str(rec, "metadata.name"));
            found = 1;
            break;
        }
    }
    json_decref(list);
    return found;
}

int self_due(const struct cron *c, int64_t last, int64_t now, int64_t *out_next)
{
    /* Far enough for any schedule that can fire (cron_parse refuses the
     * others): the 29th of February comes within eight years. */
    const int64_t horizon = (int64_t)9 * 366 * 86400;
    int64_t from = last < 0 ? now : last - last % 60 + 60, next = 0;

    if (!cron_next(c, from, from + horizon, &next))
        next = INT64_MAX;
    *out_next = next;
    return last < 0 || next <= now;
}

/* ---- restore ---- */

struct self_sink {
    const char *stage;
    char *path; /* the file being written */
    int fd;
};

/* Each entry to <stage>/<path after appliance/>, 0600. */
static int self_sink_write(void *ctx, const char *path, const void *p, size_t n, int last)
{
    struct self_sink *s = ctx;
    const char *rel = path + strlen(ARCHIVE_APPLIANCE_DIR);
    const unsigned char *b = p;
    int rc = 0;

    if (s->fd < 0) {
        char *dir;
        free(s->path);
        s->path = xasprintf("%s/%s", s->stage, rel);
        dir = xstrdup(s->path);
        rc = fs_mkdir_p(dirname(dir), 0700);
        free(dir);
        if (rc < 0)
            return rc;
        s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (s->fd < 0)
            return err_set(ERR_IO, "%s: %s", s->path, strerror(errno));
    }
    while (n > 0) {
        ssize_t k = write(s->fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return err_set(ERR_IO, "%s: %s", s->path, k < 0 ? strerror(errno) : "no progress");
        b += k;
        n -= (size_t)k;
    }
    if (last) {
        if (fsync(s->fd) != 0)
            rc = err_set(ERR_IO, "%s: sync: %s", s->path, strerror(errno));
        close(s->fd);
        s->fd = -1;
    }
    return rc;
}

/* 1 if dir exists and holds anything. */
static int self_dir_used(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int used = 0;
    if (!d)
        return errno != ENOENT;
    while (!used && (de = readdir(d)))
        used = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return used;
}

/* A staged file moved into place (rename, or a copy across filesystems
 * for the config). */
static int self_place(const char *from, const char *to, mode_t mode)
{
    struct buf b = BUF_INIT;
    char *dir = xstrdup(to);
    int rc = fs_mkdir_p(dirname(dir), 0700);
    free(dir);
    if (rc < 0)
        return rc;
    if (rename(from, to) == 0)
        return chmod(to, mode) == 0 ? 0 : err_set(ERR_IO, "%s: %s", to, strerror(errno));
    if (errno != EXDEV)
        return err_set(ERR_IO, "%s: %s", to, strerror(errno));
    if ((rc = fs_read_file(from, SELF_MAX_CONFIG, &b)) == 0)
        rc = fs_write_atomic(to, b.ptr ? b.ptr : "", b.len, mode);
    buf_dispose(&b);
    return rc;
}

/* Where a file the site config names is restored: beside the config,
 * under its own file name. */
static char *self_beside(const char *config_out, const char *named)
{
    char *dir = xstrdup(config_out), *base = xstrdup(named);
    char *out = xasprintf("%s/%s", dirname(dir), basename(base));
    free(dir);
    free(base);
    return out;
}

/* The staged site config, with settingsFile/secretsFile naming the files
 * beside it when they named another place (the file is then emitted
 * again from its documents: its comments are not kept). */
static int self_fix_config(const char *staged, struct buf *text, int *changed)
{
    static const char *const keys[] = {"settingsFile", "secretsFile"};
    json_t *docs = NULL, *first;
    int rc;

    *changed = 0;
    if ((rc = fs_read_file(staged, SELF_MAX_CONFIG, text)) < 0 ||
        (rc = doc_parse_yaml(&docs, text->ptr ? text->ptr : "", text->len, "site config", NULL)) <
            0)
        goto out;
    first = json_array_get(docs, 0);
    for (size_t i = 0; i < 2; i++) {
        const char *v = doc_get_str(first, keys[i]);
        char *copy = xstrdup(v ? v : "");
        if (v && v[0] && strcmp(v, basename(copy)) != 0) {
            json_object_set_new(first, keys[i], json_string(basename(copy)));
            *changed = 1;
        }
        free(copy);
    }
    if (*changed) {
        buf_clear(text);
        doc_emit_yaml_stream(text, docs);
    }
out:
    json_decref(docs);
    return rc;
}

/* The config files: the site config at config_out, the files it names
 * beside it. */
static int self_place_config(const char *stage, const json_t *files, const char *config_out,
                             json_t *report)
{
    static const char *const which[] = {"settings", "secrets"};
    char *staged = xasprintf("%s/config/site", stage);
    struct buf text = BUF_INIT;
    int rc, changed = 0;
    char *dir = xstrdup(config_out);
    rc = fs_mkdir_p(dirname(dir), 0700);
    free(dir);
    if (rc < 0 || (rc = self_fix_config(staged, &text, &changed)) < 0 ||
        (rc = fs_write_atomic(config_out, text.ptr ? text.ptr : "", text.len, 0600)) < 0)
        goto out;
    json_object_set_new(report, "config", json_string(config_out));
    if (changed)
        json_object_set_new(report, "configRewritten",
                            json_string("settingsFile/secretsFile now name the restored files"));
    for (size_t i = 0; i < 2; i++) {
        const char *orig = doc_get_str(files, which[i]);
        char *from, *to, *named;
        if (!orig)
            continue;
        named = xstrdup(orig);
        to = self_beside(config_out, named);
        from = xasprintf("%s/config/%s", stage, which[i]);
        rc = self_place(from, to, 0600);
        if (rc == 0)
            json_object_set_new(report, which[i], json_string(to));
        free(from);
        free(to);
        free(named);
        if (rc < 0)
            goto out;
    }
out:
    buf_dispose(&text);
    free(staged);
    return rc;
}

/* The keys: <data>/keys/NAME, 0600, in a 0700 folder. */
static int self_place_keys(const char *stage, const char *data_dir, json_t *report)
{
    char *from_dir = xasprintf("%s/keys", stage), *to_dir = xasprintf("%s/keys", data_dir);
    json_t *names = json_array();
    DIR *d = opendir(from_dir);
    struct dirent *de;
    int rc = fs_mkdir_p(to_dir, 0700);

    while (rc == 0 && d && (de = readdir(d))) {
        char *from, *to;
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        from = xasprintf("%s/%s", from_dir, de->d_name);
        to = xasprintf("%s/%s", to_dir, de->d_name);
        /* keys/ holds files only; a folder there came from a hostile
         * archive and is left in the staging folder that is removed. */
        if (lstat(from, &sb) == 0 && S_ISREG(sb.st_mode)) {
            rc = self_place(from, to, 0600);
            json_array_append_new(names, json_string(de->d_name));
        }
        free(from);
        free(to);
    }
    if (d)
        closedir(d);
    json_object_set_new(report, "keys", names);
    free(from_dir);
    free(to_dir);
    return rc;
}

int self_restore(const struct self_restore_options *o, json_t **out_report)
{
    struct archive_read_options ro = ARCHIVE_READ_OPTIONS_INIT;
    struct self_sink sink = {NULL, NULL, -1};
    archive_reader *r = NULL;
    json_t *manifest = NULL, *report = json_object();
    struct archive_entry e;
    char *stage = NULL, *config_out = NULL, *db = NULL, *site = NULL;
    const json_t *files;
    int rc, has_db = 0, has_site = 0;
    size_t i;
    json_t *ent;

    if (out_report)
        *out_report = NULL;
    ro.key = o->key;
    ro.appliance = 1;
    /* Pass 1: all of it checked; nothing written yet. */
    if ((rc = archive_verify(o->archive, &ro, &manifest)) < 0)
        goto out;
    json_array_foreach(json_object_get(manifest, "entries"), i, ent)
    {
        const char *path = archive_manifest_entry_path(ent);
        has_db |= !strcmp(path, SELF_STATE_ENTRY);
        has_site |= !strcmp(path, SELF_CONFIG_ENTRY);
    }
    if (!has_db) {
        rc = err_set(ERR_INVALID, "%s: holds no %s", o->archive, SELF_STATE_ENTRY);
        goto out;
    }
    files = json_object_get(manifest, "files");
    if (has_site) {
        if (o->config_out) {
            config_out = xstrdup(o->config_out);
        } else {
            site = xstrdup(doc_get_str(files, "site") ? doc_get_str(files, "site") : "site.yaml");
            config_out = xasprintf("%s/config/%s", o->data_dir, basename(site));
        }
    }
    if (!o->force && self_dir_used(o->data_dir)) {
        rc = err_set(ERR_CONFLICT, "%s: not empty (a restore replaces what is there: --force)",
                     o->data_dir);
        goto out;
    }
    if (!o->force && config_out && fs_exists(config_out)) {
        rc = err_set(ERR_CONFLICT, "%s: exists (--force replaces it)", config_out);
        goto out;
    }
    /* Pass 2: staged, each entry checked against the verified manifest. */
    if ((rc = fs_mkdir_p(o->data_dir, 0700)) < 0)
        goto out;
    stage = xasprintf("%s/.restore-XXXXXX", o->data_dir);
    if (!mkdtemp(stage)) {
        rc = err_set(ERR_IO, "%s: %s", stage, strerror(errno));
        free(stage);
        stage = NULL;
        goto out;
    }
    sink.stage = stage;
    ro.expect = manifest;
    ro.sink = self_sink_write;
    ro.sink_ctx = &sink;
    if ((rc = archive_reader_open(&r, o->archive, NULL, &ro)) < 0)
        goto out;
    while ((rc = archive_reader_next(r, &e)) > 0)
        ;
    if (rc < 0)
        goto out;
    /* Into place: the store first (its stale log removed), then keys,
     * then the config. */
    db = xasprintf("%s/state.db", o->data_dir);
    for (i = 0; i < 2; i++) {
        char *side = xasprintf("%s%s", db, i ? "-shm" : "-wal");
        unlink(side);
        free(side);
    }
    {
        char *from = xasprintf("%s/state.db", stage);
        rc = self_place(from, db, 0600);
        free(from);
    }
    if (rc < 0 || (rc = self_place_keys(stage, o->data_dir, report)) < 0)
        goto out;
    json_object_set_new(report, "store", json_string(db));
    if (config_out && (rc = self_place_config(stage, files, config_out, report)) < 0)
        goto out;
    json_object_set(report, "backup", json_object_get(manifest, "name"));
    json_object_set(report, "taken", json_object_get(manifest, "completionTimestamp"));
    if (out_report)
        *out_report = json_incref(report);
out:
    if (sink.fd >= 0)
        close(sink.fd);
    free(sink.path);
    archive_reader_close(r);
    if (stage)
        fs_remove_tree(stage);
    free(stage);
    free(config_out);
    free(site);
    free(db);
    json_decref(manifest);
    json_decref(report);
    return rc;
}

/* ---- the schedule ---- */

struct self_scheduler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop;
    store *st;
    struct cron cron;
    struct self_options o;
    struct crypt_key key;
    /* owned copies of o's strings */
    char *data_dir, *config_path, *settings_file, *secrets_file, *location, *second_location,
        *version;
};

static void self_run_once(self_scheduler *s)
{
    json_t *rec = NULL;
    int rc;
    s->o.now = 0;
    backup_serial_lock();
    rc = self_backup(s->st, &s->o, &rec);
    backup_serial_unlock();
    if (rc < 0) {
        log_error("%s (retried at the next scheduled time)", err_last());
        err_clear();
        return;
    }
    log_info("self-backup %s written to %s%s%s (%lld bytes)", doc_get_str(rec, "metadata.name"),
             s->o.location, s->o.second_location ? " and " : "",
             s->o.second_location ? s->o.second_location : "",
             (long long)json_integer_value(json_object_get(
                 json_object_get(json_object_get(rec, "status"), "archive"), "size")));
    json_decref(rec);
}

static void *self_thread(void *arg)
{
    self_scheduler *s = arg;
    int64_t last = -1, next = 0;

    backup_serial_lock(); /* an S3 location's client is shared */
    if (!self_last(s->o.location, &last))
        last = -1;
    backup_serial_unlock();
    if (self_due(&s->cron, last, (int64_t)time(NULL), &next)) {
        log_info("self-backup: %s, running one now",
                 last < 0 ? "none taken yet" : "a scheduled run was missed");
        self_run_once(s);
        self_due(&s->cron, (int64_t)time(NULL), (int64_t)time(NULL), &next);
    }
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        int64_t now = (int64_t)time(NULL);
        if (now >= next) {
            pthread_mutex_unlock(&s->lock);
            self_run_once(s);
            /* The next firing after this minute, never the same one twice. */
            self_due(&s->cron, now, now, &next);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        {
            /* Wake at least once a minute: the wall clock may be set. */
            struct timespec ts = {(time_t)(next - now > 60 ? now + 60 : next), 0};
            pthread_cond_timedwait(&s->wake, &s->lock, &ts);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static char *self_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void self_scheduler_free(self_scheduler *s)
{
    crypt_key_dispose(&s->key);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s->data_dir);
    free(s->config_path);
    free(s->settings_file);
    free(s->secrets_file);
    free(s->location);
    free(s->second_location);
    free(s->version);
    free(s);
}

int self_scheduler_start(self_scheduler **out, store *st, const struct cron *c,
                         const struct self_options *o)
{
    self_scheduler *s = xcalloc(1, sizeof(*s));
    pthread_condattr_t ca;

    *out = NULL;
    s->st = st;
    s->cron = *c;
    s->key = *o->key;
    s->key.passphrase = self_dup(o->key->passphrase);
    s->o = *o;
    s->o.key = &s->key;
    s->o.data_dir = s->data_dir = self_dup(o->data_dir);
    s->o.config_path = s->config_path = self_dup(o->config_path);
    s->o.settings_file = s->settings_file = self_dup(o->settings_file);
    s->o.secrets_file = s->secrets_file = self_dup(o->secrets_file);
    s->o.location = s->location = self_dup(o->location);
    s->o.second_location = s->second_location =
        o->second_location && o->second_location[0] ? self_dup(o->second_location) : NULL;
    s->o.edgecd_version = s->version = self_dup(o->edgecd_version);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_REALTIME);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, self_thread, s) != 0) {
        self_scheduler_free(s);
        return err_set(ERR_IO, "self-backup: cannot start its thread");
    }
    *out = s;
    return 0;
}

void self_scheduler_stop(self_scheduler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    self_scheduler_free(s);
}
