/*
 * Zones as RFC 8536 describes them: a sorted table of transitions, each
 * naming a local time type (an offset), and a POSIX TZ string (the footer)
 * that gives the rule for instants after the last transition. UTC, fixed
 * offsets and the Etc/GMT zones are the same structure with no transitions
 * and one type, so tz_offset has one path for all of them.
 *
 * TZif files come from the system, but they are parsed as carefully as
 * anything from Git: the name may not climb out of the zone folder, the
 * file is size-limited, every count is checked against the bytes present
 * before it is used, transitions must ascend and name a type that exists.
 * Leap-second records ("right/" zones) are skipped, as Go skips them.
 *
 * Calendar arithmetic is Howard Hinnant's days-from-civil algorithm: exact
 * for any year, no table, no dependence on the C library's time functions.
 */
#include "core/tz.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "core/mem.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_FILE (256 * 1024)
#define TZ_MAX_TRANSITIONS 20000
#define TZ_MAX_TYPES 256
#define TZ_MAX_NAME 255
/* RFC 8536: offsets SHOULD lie in [-89999, 93599] */
#define TZ_MIN_UTOFF (-89999)
#define TZ_MAX_UTOFF 93599

/* A date of a POSIX TZ rule: Jn (1-365, no Feb 29), n (0-365), Mm.w.d. */
struct tz_date {
    char kind; /* 'J', 'D' or 'M' */
    int n, m, w, d;
    int32_t time; /* seconds after local midnight; may be negative or > 24h */
};

struct tz_rule {
    int32_t std_off; /* east of UTC */
    int32_t dst_off;
    int has_dst;
    struct tz_date start, end;
};

struct tz {
    char *name;
    int64_t *times; /* transitions, ascending */
    unsigned char *idx;
    size_t n;
    int32_t *utoff; /* per local time type */
    size_t ntypes;
    int has_rule;
    struct tz_rule rule;
};

/* ---- calendar ---- */

static int64_t tz_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* 0 = Sunday; 1970-01-01 was a Thursday */
static int tz_weekday(int64_t days)
{
    return (int)(days + 4 - tz_floor_div(days + 4, 7) * 7);
}

int64_t tz_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = tz_floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_unix(int64_t t, struct tz_civil *out)
{
    int64_t days = tz_floor_div(t, 86400), secs = t - days * 86400;
    int64_t z = days + 719468, era = tz_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->year = yoe + era * 400 + (out->month <= 2);
    out->hour = (int)(secs / 3600);
    out->min = (int)(secs / 60 % 60);
    out->sec = (int)(secs % 60);
    out->wday = tz_weekday(days);
}

static int tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_month_days(int64_t year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && tz_leap(year) ? 29 : days[month - 1];
}

/* ---- POSIX TZ rules (the TZif footer) ---- */

/* Local midnight of a rule's date in year, as seconds since the epoch of
 * that wall-clock time read as UTC. */
static int64_t tz_date_local(const struct tz_date *dt, int64_t year)
{
    int64_t day;

    if (dt->kind == 'M') {
        int64_t first = tz_days_from_civil(year, dt->m, 1);
        day = first + (dt->d - tz_weekday(first) + 7) % 7 + 7 * (dt->w - 1);
        /* week 5 means the last such weekday of the month */
        while (day >= first + tz_month_days(year, dt->m))
            day -= 7;
    } else if (dt->kind == 'J') {
        day = tz_days_from_civil(year, 1, 1) + dt->n - 1 + (tz_leap(year) && dt->n >= 60);
    } else {
        day = tz_days_from_civil(year, 1, 1) + dt->n;
    }
    return day * 86400;
}

static int32_t tz_rule_offset(const struct tz_rule *r, int64_t t)
{
    struct tz_civil c;
    int64_t start, end;

    if (!r->has_dst)
        return r->std_off;
    tz_civil_from_unix(t + r->std_off, &c);
    /* the change to DST happens in standard time, the change back in DST */
    start = tz_date_local(&r->start, c.year) + r->start.time - r->std_off;
    end = tz_date_local(&r->end, c.year) + r->end.time - r->dst_off;
    if (start < end)
        return t >= start && t < end ? r->dst_off : r->std_off;
    /* southern hemisphere: DST spans the turn of the year */
    return t >= end && t < start ? r->std_off : r->dst_off;
}

struct tz_cursor {
    const char *p;
};

static int tz_digits(struct tz_cursor *c, int max_digits, int *out)
{
    int n = 0, v = 0;

    while (n < max_digits && c->p[0] >= '0' && c->p[0] <= '9') {
        v = v * 10 + (c->p[0] - '0');
        c->p++;
        n++;
    }
    *out = v;
    return n > 0 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] into seconds (the sign as written); hours at most
 * max_hours. */
static int tz_hms(struct tz_cursor *c, int max_hours, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;

    if (c->p[0] == '+' || c->p[0] == '-')
        sign = *c->p++ == '-' ? -1 : 1;
    if (tz_digits(c, 3, &h) < 0 || h > max_hours)
        return -1;
    if (c->p[0] == ':') {
        c->p++;
        if (tz_digits(c, 2, &m) < 0 || m > 59)
            return -1;
        if (c->p[0] == ':') {
            c->p++;
            if (tz_digits(c, 2, &s) < 0 || s > 59)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

/* A zone abbreviation: <...> of letters, digits, '+' and '-', or letters. */
static int tz_abbrev(struct tz_cursor *c)
{
    size_t n;

    if (c->p[0] == '<') {
        n = strspn(c->p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-");
        if (n == 0 || c->p[1 + n] != '>')
            return -1;
        c->p += n + 2;
        return 0;
    }
    /* POSIX asks for three letters; zic writes what the zone says */
    n = strspn(c->p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (n == 0)
        return -1;
    c->p += n;
    return 0;
}

static int tz_rule_date(struct tz_cursor *c, struct tz_date *dt)
{
    memset(dt, 0, sizeof(*dt));
    dt->time = 2 * 3600;
    if (c->p[0] == 'M') {
        c->p++;
        dt->kind = 'M';
        if (tz_digits(c, 2, &dt->m) < 0 || dt->m < 1 || dt->m > 12 || *c->p++ != '.' ||
            tz_digits(c, 1, &dt->w) < 0 || dt->w < 1 || dt->w > 5 || *c->p++ != '.' ||
            tz_digits(c, 1, &dt->d) < 0 || dt->d > 6)
            return -1;
    } else if (c->p[0] == 'J') {
        c->p++;
        dt->kind = 'J';
        if (tz_digits(c, 3, &dt->n) < 0 || dt->n < 1 || dt->n > 365)
            return -1;
    } else {
        dt->kind = 'D';
        if (tz_digits(c, 3, &dt->n) < 0 || dt->n > 365)
            return -1;
    }
    if (c->p[0] == '/') {
        c->p++;
        /* RFC 8536 extends POSIX: -167 to 167 hours */
        if (tz_hms(c, 167, &dt->time) < 0)
            return -1;
    }
    return 0;
}

/* A POSIX TZ string, "CET-1CEST,M3.5.0,M10.5.0/3". The offsets are west
 * of UTC there; the rule stores them east. */
static int tz_parse_rule(const char *s, struct tz_rule *r)
{
    struct tz_cursor c = {s};
    int32_t off;

    memset(r, 0, sizeof(*r));
    if (tz_abbrev(&c) < 0 || tz_hms(&c, 24, &off) < 0)
        return -1;
    r->std_off = -off;
    if (!c.p[0])
        return 0;
    if (tz_abbrev(&c) < 0)
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (c.p[0] && c.p[0] != ',') {
        if (tz_hms(&c, 24, &off) < 0)
            return -1;
        r->dst_off = -off;
    }
    /* POSIX leaves a DST zone without a rule to the implementation; zic
     * always writes one, so anything else is not a file we understand */
    if (*c.p++ != ',' || tz_rule_date(&c, &r->start) < 0 || *c.p++ != ',' ||
        tz_rule_date(&c, &r->end) < 0 || c.p[0])
        return -1;
    return 0;
}

/* ---- TZif files ---- */

static uint32_t tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tz_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

struct tz_header {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* The header at p (44 bytes available) and the size of the data block
 * after it with time_size-byte times. */
static int tz_read_header(const unsigned char *p, struct tz_header *h, size_t time_size,
                          size_t *block)
{
    h->isutcnt = tz_be32(p + 20);
    h->isstdcnt = tz_be32(p + 24);
    h->leapcnt = tz_be32(p + 28);
    h->timecnt = tz_be32(p + 32);
    h->typecnt = tz_be32(p + 36);
    h->charcnt = tz_be32(p + 40);
    if (memcmp(p, "TZif", 4) != 0 || h->typecnt == 0 || h->typecnt > TZ_MAX_TYPES ||
        h->timecnt > TZ_MAX_TRANSITIONS || h->leapcnt > TZ_MAX_TRANSITIONS ||
        h->charcnt > TZ_MAX_FILE || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return -1;
    *block = (size_t)h->timecnt * time_size + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
             (size_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
    return 0;
}

static int tz_parse_tzif(tz *z, const unsigned char *data, size_t len)
{
    struct tz_header h;
    size_t block, time_size = 4, i;
    const unsigned char *p = data, *end = data + len;

    if (len < 44 || tz_read_header(p, &h, 4, &block) < 0 || block > len - 44)
        return -1;
    if (p[4] >= '2') {
        /* skip the 32-bit block; the 64-bit one follows with its header */
        p += 44 + block;
        if ((size_t)(end - p) < 44 || tz_read_header(p, &h, 8, &block) < 0 ||
            block > (size_t)(end - p) - 44)
            return -1;
        time_size = 8;
    }
    p += 44;
    z->n = h.timecnt;
    z->ntypes = h.typecnt;
    z->times = xcalloc(h.timecnt + 1, sizeof(*z->times));
    z->idx = xcalloc(h.timecnt + 1, 1);
    z->utoff = xcalloc(h.typecnt, sizeof(*z->utoff));
    for (i = 0; i < h.timecnt; i++, p += time_size) {
        z->times[i] = time_size == 8 ? tz_be64(p) : (int32_t)tz_be32(p);
        if (i > 0 && z->times[i] <= z->times[i - 1])
            return -1;
    }
    for (i = 0; i < h.timecnt; i++, p++) {
        z->idx[i] = *p;
        if (*p >= h.typecnt)
            return -1;
    }
    for (i = 0; i < h.typecnt; i++, p += 6) {
        z->utoff[i] = (int32_t)tz_be32(p);
        if (z->utoff[i] < TZ_MIN_UTOFF || z->utoff[i] > TZ_MAX_UTOFF || p[4] > 1)
            return -1;
    }
    p += h.charcnt + (size_t)h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
    if (time_size == 8) {
        /* the footer: "\n" TZ-string "\n"; an empty string means no rule */
        const unsigned char *nl;
        if (p >= end || *p != '\n' || !(nl = memchr(p + 1, '\n', (size_t)(end - p - 1))))
            return -1;
        if (nl > p + 1) {
            char *rule = xstrndup((const char *)p + 1, (size_t)(nl - p - 1));
            int rc = tz_parse_rule(rule, &z->rule);
            free(rule);
            if (rc < 0)
                return -1;
            z->has_rule = 1;
        }
    }
    return 0;
}

/* ---- names ---- */

/* A name that stays inside the zone folder: components of letters,
 * digits, '_', '-', '+' and '.', none of them starting with '.'. */
static int tz_name_ok(const char *name)
{
    const char *p = name;
    size_t len = strlen(name);

    if (len == 0 || len > TZ_MAX_NAME || name[0] == '/')
        return 0;
    while (*p) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+.");
        if (n == 0 || p[0] == '.' || (p[n] != '/' && p[n] != '\0'))
            return 0;
        p += n;
        if (*p == '/' && *++p == '\0')
            return 0;
    }
    return 1;
}

static tz *tz_fixed(const char *name, int32_t off)
{
    tz *z = xcalloc(1, sizeof(*z));

    z->name = xstrdup(name);
    z->utoff = xcalloc(1, sizeof(*z->utoff));
    z->utoff[0] = off;
    z->ntypes = 1;
    return z;
}

/* "+05:30", "-03:00", "UTC+05:30" into seconds east; -1 if not that form. */
static int tz_parse_fixed(const char *name, int32_t *out)
{
    struct tz_cursor c = {name};
    int h, m;

    if (strncmp(c.p, "UTC", 3) == 0)
        c.p += 3;
    if (c.p[0] != '+' && c.p[0] != '-')
        return -1;
    int sign = *c.p++ == '-' ? -1 : 1;
    /* exactly hh:mm, so that POSIX's "UTC+5" (five hours west) is not
     * silently read the other way round */
    if (!(c.p[0] >= '0' && c.p[0] <= '9' && c.p[1] >= '0' && c.p[1] <= '9' && c.p[2] == ':'))
        return -1;
    if (tz_digits(&c, 2, &h) < 0 || *c.p++ != ':' || tz_digits(&c, 2, &m) < 0 || c.p[0] || m > 59 ||
        h * 60 + m > 14 * 60)
        return -1;
    *out = sign * (h * 3600 + m * 60);
    return 0;
}

/* The UTC aliases and Etc/GMT[+-]N that every system has: built in, so
 * they work without tzdata. 1 and *out if name is one. */
static int tz_builtin(const char *name, int32_t *out)
{
    static const char *const utc[] = {
        "UTC",     "Etc/UTC",  "Etc/UCT",   "Etc/Universal", "Etc/Zulu", "Etc/Greenwich",
        "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0",     "GMT",      "GMT0",
        "GMT+0",   "GMT-0",    "UCT",       "Universal",     "Zulu",     "Greenwich",
    };
    const char *n;
    int hours;

    for (size_t i = 0; i < sizeof(utc) / sizeof(utc[0]); i++)
        if (strcmp(name, utc[i]) == 0) {
            *out = 0;
            return 1;
        }
    if (strncmp(name, "Etc/GMT", 7) != 0 || (name[7] != '+' && name[7] != '-'))
        return 0;
    n = name + 8;
    if (!(n[0] >= '1' && n[0] <= '9') || (n[1] && (n[1] < '0' || n[1] > '9' || n[2])))
        return 0;
    hours = n[1] ? (n[0] - '0') * 10 + (n[1] - '0') : n[0] - '0';
    /* IANA: Etc/GMT+5 is five hours west (UTC-5), Etc/GMT-14 the most east */
    if ((name[7] == '+' && hours > 12) || (name[7] == '-' && hours > 14))
        return 0;
    *out = (name[7] == '+' ? -1 : 1) * hours * 3600;
    return 1;
}

int tz_load(tz **out, const char *name)
{
    const char *dir = getenv("TZDIR");
    struct buf data = BUF_INIT;
    char *path = NULL;
    tz *z = NULL;
    int32_t off;
    int rc;

    *out = NULL;
    if (!name || !name[0])
        name = "UTC";
    if (tz_builtin(name, &off) || tz_parse_fixed(name, &off) == 0) {
        *out = tz_fixed(name, off);
        return 0;
    }
    if (strcmp(name, "Local") == 0)
        return err_set(ERR_INVALID,
                       "time zone \"Local\": not supported; name the zone (e.g. Europe/Berlin)");
    if (!tz_name_ok(name))
        return err_set(ERR_INVALID,
                       "time zone \"%.64s\": not a zone name (IANA like Europe/Berlin, UTC, or "
                       "an offset like +01:00)",
                       name);
    if (!dir || !dir[0])
        dir = TZ_DEFAULT_DIR;
    path = xasprintf("%s/%s", dir, name);
    rc = fs_read_file(path, TZ_MAX_FILE, &data);
    if (rc == ERR_NOTFOUND) {
        rc = err_set(ERR_INVALID,
                     "time zone \"%s\": unknown (no %s; install tzdata, or use UTC, Etc/GMT-1 "
                     "or an offset like +01:00)",
                     name, path);
        goto out;
    }
    if (rc < 0) {
        rc = err_prefix(ERR_IO, "time zone \"%s\"", name);
        goto out;
    }
    z = xcalloc(1, sizeof(*z));
    z->name = xstrdup(name);
    if (tz_parse_tzif(z, (const unsigned char *)data.ptr, data.len) < 0) {
        rc = err_set(ERR_IO, "time zone \"%s\": %s is not a valid TZif file", name, path);
        goto out;
    }
    *out = z;
    z = NULL;
    rc = 0;
out:
    tz_free(z);
    buf_dispose(&data);
    free(path);
    return rc;
}

void tz_free(tz *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->times);
    free(z->idx);
    free(z->utoff);
    free(z);
}

int32_t tz_offset(const tz *z, int64_t t)
{
    size_t lo = 0, hi;

    if (z->n == 0 || t >= z->times[z->n - 1]) {
        if (z->has_rule)
            return tz_rule_offset(&z->rule, t);
        return z->n ? z->utoff[z->idx[z->n - 1]] : z->utoff[0];
    }
    /* RFC 8536: before the first transition, the first type applies */
    if (t < z->times[0])
        return z->utoff[0];
    /* the last transition at or before t */
    hi = z->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (z->times[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->utoff[z->idx[lo]];
}

const char *tz_name(const tz *z)
{
    return z->name;
}
