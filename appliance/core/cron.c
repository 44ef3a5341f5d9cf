/*
 * Cron fields as bit sets, one table row per field (bounds, names, what a
 * star covers), so parsing is one loop and the rules of robfig/cron's
 * getRange live in one function. The search for the next firing walks
 * months, then days, then hours, then minutes, jumping to the start of the
 * next unit whenever a unit does not match: robfig's algorithm, which never
 * visits the minutes of a day that cannot fire.
 */
#include "core/cron.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/tz.h"

#define CRON_FIELDS 5
/* a spec longer than this is not a schedule anyone wrote */
#define CRON_MAX_SPEC 512
/* what separates fields (Go's strings.Fields splits on any white space) */
#define CRON_SPACE " \t\n\r\v\f"

struct cron_field {
    const char *name;
    int min, max;
    int star_max;             /* what `*` and N/STEP run to (day of week: 6, though 7 is allowed) */
    const char *const *names; /* names[i] is value min + i */
};

static const char *const cron_months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const cron_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct cron_field cron_fields[CRON_FIELDS] = {
    {"minute", 0, 59, 59, NULL},         {"hour", 0, 23, 23, NULL},
    {"day of month", 1, 31, 31, NULL},   {"month", 1, 12, 12, cron_months},
    {"day of week", 0, 7, 6, cron_days},
};

/* A number or a name of f, the whole of [s, s + n). */
static int cron_value(const struct cron_field *f, const char *s, size_t n, const char *spec,
                      int *out)
{
    int v = 0;
    size_t i;

    for (i = 0; f->names && f->names[i]; i++)
        if (n == strlen(f->names[i]) && strncasecmp(s, f->names[i], n) == 0) {
            *out = f->min + (int)i;
            return 0;
        }
    if (n == 0 || n > 9)
        return err_set(ERR_INVALID, "\"%s\": %s: \"%.*s\" is not a number", spec, f->name, (int)n,
                       s);
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return err_set(ERR_INVALID, "\"%s\": %s: \"%.*s\" is not a number%s", spec, f->name,
                           (int)n, s, f->names ? " or a name" : "");
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* One item of a list, [s, s + n): `*`, `?`, N, N-M, each with /STEP. */
static int cron_range(const struct cron_field *f, const char *s, size_t n, const char *spec,
                      uint64_t *bits, int *star)
{
    const char *slash = memchr(s, '/', n), *dash;
    size_t range_len = slash ? (size_t)(slash - s) : n;
    int lo, hi, step = 1, rc, is_star = range_len == 1 && (s[0] == '*' || s[0] == '?');

    if (n == 0)
        return err_set(ERR_INVALID, "\"%s\": %s: empty list item", spec, f->name);
    if (slash && memchr(slash + 1, '/', n - range_len - 1))
        return err_set(ERR_INVALID, "\"%s\": %s: \"%.*s\" has more than one /", spec, f->name,
                       (int)n, s);
    dash = memchr(s, '-', range_len);
    if (is_star) {
        lo = f->min;
        hi = f->star_max;
    } else if (dash) {
        if (memchr(dash + 1, '-', range_len - (size_t)(dash - s) - 1))
            return err_set(ERR_INVALID, "\"%s\": %s: \"%.*s\" has more than one -", spec, f->name,
                           (int)n, s);
        if ((rc = cron_value(f, s, (size_t)(dash - s), spec, &lo)) < 0 ||
            (rc = cron_value(f, dash + 1, range_len - (size_t)(dash - s) - 1, spec, &hi)) < 0)
            return rc;
    } else {
        if ((rc = cron_value(f, s, range_len, spec, &lo)) < 0)
            return rc;
        /* "N/STEP" runs from N to the end of the field */
        hi = slash ? f->star_max : lo;
    }
    if (slash) {
        if ((rc = cron_value(f, slash + 1, n - range_len - 1, spec, &step)) < 0)
            return rc;
        if (step == 0)
            return err_set(ERR_INVALID, "\"%s\": %s: the step of \"%.*s\" must be positive", spec,
                           f->name, (int)n, s);
    }
    if (lo < f->min)
        return err_set(ERR_INVALID, "\"%s\": %s: %d is below the minimum %d", spec, f->name, lo,
                       f->min);
    if (hi > f->max)
        return err_set(ERR_INVALID, "\"%s\": %s: %d is above the maximum %d", spec, f->name, hi,
                       f->max);
    if (lo > hi)
        return err_set(ERR_INVALID, "\"%s\": %s: \"%.*s\" starts after it ends", spec, f->name,
                       (int)n, s);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    /* robfig: a star stays a star with step 1 only */
    if (is_star && step == 1)
        *star = 1;
    return 0;
}

static int cron_day_matches(const struct cron *c, const struct tz_civil *t)
{
    int dom = (c->dom >> t->day) & 1, dow = (c->dow >> t->wday) & 1;

    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

int cron_fires(const struct cron *c, int64_t t)
{
    struct tz_civil cv;

    tz_civil_from_unix(t, &cv);
    return ((c->month >> cv.month) & 1) && cron_day_matches(c, &cv) && ((c->hour >> cv.hour) & 1) &&
           ((c->minute >> cv.min) & 1);
}

int cron_next(const struct cron *c, int64_t from, int64_t until, int64_t *out)
{
    /* the first whole minute at or after from */
    int64_t t = from - ((from % 60) + 60) % 60 + (from % 60 != 0 ? 60 : 0);
    struct tz_civil cv;

    while (t < until) {
        tz_civil_from_unix(t, &cv);
        if (!((c->month >> cv.month) & 1)) {
            /* the first day of the next month */
            t = tz_days_from_civil(cv.year, cv.month, tz_month_days(cv.year, cv.month) + 1) * 86400;
        } else if (!cron_day_matches(c, &cv)) {
            t = tz_days_from_civil(cv.year, cv.month, cv.day + 1) * 86400;
        } else if (!((c->hour >> cv.hour) & 1)) {
            t += 3600 - cv.min * 60;
        } else if (!((c->minute >> cv.min) & 1)) {
            t += 60;
        } else {
            *out = t;
            return 1;
        }
    }
    return 0;
}

int cron_parse_schedule(struct cron *out, const char *spec)
{
    static const char *const names[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(spec, names[i][0]) == 0)
            return cron_parse(out, names[i][1]);
    if (spec[0] == '@') {
        memset(out, 0, sizeof(*out));
        return err_set(ERR_INVALID,
                       "\"%s\": unknown descriptor (@yearly, @monthly, @weekly, @daily, @hourly)",
                       spec);
    }
    return cron_parse(out, spec);
}

int cron_parse(struct cron *out, const char *spec)
{
    struct cron c;
    uint64_t bits[CRON_FIELDS] = {0};
    int star[CRON_FIELDS] = {0};
    const char *p = spec;
    int64_t first, probe;
    size_t nf = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (strlen(spec) > CRON_MAX_SPEC)
        return err_set(ERR_INVALID, "schedule longer than %d characters", CRON_MAX_SPEC);
    p += strspn(p, CRON_SPACE);
    if (!*p)
        return err_set(ERR_INVALID, "\"%s\": empty schedule", spec);
    if (*p == '@')
        return err_set(ERR_INVALID,
                       "\"%s\": descriptors such as @daily are not accepted (Argo CD's parser "
                       "has none); write the five fields",
                       spec);
    if (strncmp(p, "TZ=", 3) == 0 || strncmp(p, "CRON_TZ=", 8) == 0)
        return err_set(ERR_INVALID, "\"%s\": a zone in the schedule is not supported; use timeZone",
                       spec);
    while (*p) {
        size_t n = strcspn(p, CRON_SPACE);
        if (nf == CRON_FIELDS)
            return err_set(ERR_INVALID,
                           "\"%s\": more than 5 fields (minute hour day-of-month month "
                           "day-of-week)",
                           spec);
        /* the items of the list, each a range */
        for (size_t i = 0; i <= n;) {
            size_t m = strcspn(p + i, "," CRON_SPACE);
            if (m > n - i)
                m = n - i;
            if ((rc = cron_range(&cron_fields[nf], p + i, m, spec, &bits[nf], &star[nf])) < 0)
                return rc;
            i += m + 1;
        }
        nf++;
        p += n;
        p += strspn(p, CRON_SPACE);
    }
    if (nf != CRON_FIELDS)
        return err_set(ERR_INVALID,
                       "\"%s\": %zu fields, expected 5 (minute hour day-of-month month "
                       "day-of-week)",
                       spec, nf);
    c.minute = bits[0];
    c.hour = (uint32_t)bits[1];
    c.dom = (uint32_t)bits[2];
    c.month = (uint32_t)bits[3];
    /* 7 is Sunday too */
    c.dow = (uint32_t)((bits[4] | bits[4] >> 7) & 0x7f);
    c.dom_star = star[2];
    c.dow_star = star[4];
    /* any date a schedule can name comes round within 28 years (the
     * weekday and leap-year cycles) */
    first = tz_days_from_civil(2000, 1, 1) * 86400;
    if (!cron_next(&c, first, tz_days_from_civil(2028, 1, 1) * 86400, &probe))
        return err_set(ERR_INVALID, "\"%s\": never fires (no such day)", spec);
    *out = c;
    return 0;
}
