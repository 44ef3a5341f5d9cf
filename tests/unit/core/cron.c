/*
 * Tests for appliance/core/cron.c: what parses (lists, ranges, steps,
 * names, `?`, Sunday as 0 and 7) and what is refused with which words;
 * the next firing across hour, day, month, year and leap-day boundaries and
 * the day-of-month / day-of-week rule; and cron_next's skipping search
 * against a minute-by-minute scan.
 */
#include "core/cron.h"

#include "core/tz.h"
#include "test.h"

/* Wall-clock seconds of a date and time. */
static int64_t at(int64_t y, int mo, int d, int h, int mi)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static uint64_t bits(const int *v, size_t n)
{
    uint64_t b = 0;
    for (size_t i = 0; i < n; i++)
        b |= 1ULL << v[i];
    return b;
}
#define BITS(...) bits((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

TEST(fields_parse)
{
    struct cron c, d;

    CHECK_OK(cron_parse(&c, "*/15 8-18/5 1,15 jan-MAR mon-fri"));
    CHECK(c.minute == BITS(0, 15, 30, 45));
    CHECK(c.hour == BITS(8, 13, 18));
    CHECK(c.dom == BITS(1, 15));
    CHECK(c.month == BITS(1, 2, 3));
    CHECK(c.dow == BITS(1, 2, 3, 4, 5));
    CHECK(!c.dom_star && !c.dow_star);

    /* N/STEP runs to the end of the field */
    CHECK_OK(cron_parse(&c, "5/20 22/1 * * *"));
    CHECK(c.minute == BITS(5, 25, 45));
    CHECK(c.hour == BITS(22, 23));
    CHECK(c.dom_star && c.dow_star);

    /* Sunday is 0 and 7; 5-7 is Friday to Sunday */
    CHECK_OK(cron_parse(&c, "0 0 * * 0"));
    CHECK_OK(cron_parse(&d, "0 0 * * 7"));
    CHECK(c.dow == BITS(0) && d.dow == BITS(0));
    CHECK_OK(cron_parse(&c, "0 0 * * 5-7"));
    CHECK(c.dow == BITS(0, 5, 6));
    CHECK_OK(cron_parse(&c, "0 0 * * 1/2"));
    CHECK(c.dow == BITS(1, 3, 5)); /* runs to 6, not to 7 */

    /* `?` is `*`; a star with a step above 1 is no longer a star */
    CHECK_OK(cron_parse(&c, "? ? ? ? ?"));
    CHECK_OK(cron_parse(&d, "* * * * *"));
    CHECK(memcmp(&c, &d, sizeof(c)) == 0);
    CHECK(c.minute == (1ULL << 60) - 1 && c.dow == 0x7f && c.month == 0x1ffe);
    CHECK_OK(cron_parse(&c, "0 0 * * */2"));
    CHECK(!c.dow_star && c.dow == BITS(0, 2, 4, 6));
    CHECK_OK(cron_parse(&c, "0 0 * * */1,3"));
    CHECK(c.dow_star);

    /* white space as Go's strings.Fields sees it, names in any case */
    CHECK_OK(cron_parse(&c, "  30\t2 * Dec SUN\n"));
    CHECK(c.minute == BITS(30) && c.hour == BITS(2) && c.month == BITS(12) && c.dow == BITS(0));
    /* the 29th of February comes round */
    CHECK_OK(cron_parse(&c, "0 12 29 2 *"));
}

static const struct {
    const char *spec, *message;
} refused[] = {
    {"", "empty schedule"},
    {"   ", "empty schedule"},
    {"@daily", "descriptors such as @daily are not accepted"},
    {"CRON_TZ=Europe/Berlin 0 22 * * *", "use timeZone"},
    {"TZ=UTC 0 22 * * *", "use timeZone"},
    {"0 22 * *", "4 fields, expected 5"},
    {"0 22 * * * *", "more than 5 fields"},
    {"60 * * * *", "minute: 60 is above the maximum 59"},
    {"0 24 * * *", "hour: 24 is above the maximum 23"},
    {"0 0 0 * *", "day of month: 0 is below the minimum 1"},
    {"0 0 32 * *", "day of month: 32 is above the maximum 31"},
    {"0 0 * 13 *", "month: 13 is above the maximum 12"},
    {"0 0 * * 8", "day of week: 8 is above the maximum 7"},
    {"5-1 * * * *", "minute: \"5-1\" starts after it ends"},
    {"*/0 * * * *", "the step of \"*/0\" must be positive"},
    {"1,,2 * * * *", "minute: empty list item"},
    {"1, * * * *", "minute: empty list item"},
    {"a * * * *", "minute: \"a\" is not a number"},
    {"0 0 * foo *", "month: \"foo\" is not a number or a name"},
    {"0 0 * * monday", "day of week: \"monday\" is not a number or a name"},
    {"0 0 * jan *x", "day of week: \"*x\" is not a number"},
    {"-1 * * * *", "minute: \"\" is not a number"},
    {"1-2-3 * * * *", "\"1-2-3\" has more than one -"},
    {"1/2/3 * * * *", "\"1/2/3\" has more than one /"},
    {"0 0 30 2 *", "never fires"},
    {"0 0 31 4,6,9,11 *", "never fires"},
};

TEST(bad_schedules_refused)
{
    struct cron c;

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        CHECK_ERR(cron_parse(&c, refused[i].spec), ERR_INVALID);
        CHECK_CONTAINS(err_last(), refused[i].message);
    }
    /* the schedule is quoted so the operator sees which one */
    CHECK_ERR(cron_parse(&c, "0 25 * * *"), ERR_INVALID);
    CHECK_STR(err_last(), "\"0 25 * * *\": hour: 25 is above the maximum 23");
}

TEST(next_table)
{
    const struct {
        const char *spec;
        int64_t from, want;
    } cases[] = {
        /* at or after from, in whole minutes */
        {"0 22 * * *", at(2026, 11, 23, 21, 30), at(2026, 11, 23, 22, 0)},
        {"0 22 * * *", at(2026, 11, 23, 22, 0), at(2026, 11, 23, 22, 0)},
        {"0 22 * * *", at(2026, 11, 23, 22, 0) + 1, at(2026, 11, 24, 22, 0)},
        {"0 22 * * *", at(2026, 12, 31, 22, 1), at(2027, 1, 1, 22, 0)},
        /* month and year boundaries */
        {"0 0 1 * *", at(2026, 1, 31, 12, 0), at(2026, 2, 1, 0, 0)},
        {"0 0 31 * *", at(2026, 2, 1, 0, 0), at(2026, 3, 31, 0, 0)},
        {"30 23 31 12 *", at(2026, 6, 1, 0, 0), at(2026, 12, 31, 23, 30)},
        {"0 12 29 2 *", at(2025, 3, 1, 0, 0), at(2028, 2, 29, 12, 0)},
        /* both day fields restricted: either; one a star: both */
        {"0 0 13 * 5", at(2026, 11, 2, 0, 0), at(2026, 11, 6, 0, 0)},
        {"0 0 13 * *", at(2026, 11, 2, 0, 0), at(2026, 11, 13, 0, 0)},
        {"0 0 * * 5", at(2026, 11, 7, 0, 0), at(2026, 11, 13, 0, 0)},
        {"0 0 13 * */2", at(2026, 11, 2, 0, 1), at(2026, 11, 3, 0, 0)},
        {"0 0 13 * */1", at(2026, 11, 2, 0, 1), at(2026, 11, 13, 0, 0)},
        /* Sunday as 7, steps in ranges, a list of hours */
        {"0 3 * * 7", at(2026, 11, 23, 0, 0), at(2026, 11, 29, 3, 0)},
        {"0 8-18/5 * * *", at(2026, 11, 23, 13, 1), at(2026, 11, 23, 18, 0)},
        {"15,45 1,23 * * *", at(2026, 11, 23, 23, 46), at(2026, 11, 24, 1, 15)},
        {"*/10 * * * *", at(2026, 11, 23, 23, 55), at(2026, 11, 24, 0, 0)},
        /* before 1970 too */
        {"0 0 1 1 *", at(1969, 6, 1, 0, 0), at(1970, 1, 1, 0, 0)},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cron c;
        int64_t got = -1;
        CHECK_OK(cron_parse(&c, cases[i].spec));
        if (!cron_next(&c, cases[i].from, cases[i].from + 5 * 366 * 86400LL, &got) ||
            got != cases[i].want)
            TEST_FAIL_("\"%s\" from %lld: got %lld, expected %lld", cases[i].spec,
                       (long long)cases[i].from, (long long)got, (long long)cases[i].want);
        CHECK(cron_fires(&c, got) && cron_fires(&c, got + 59) && !cron_fires(&c, got - 1));
    }
}

TEST(next_stops_at_until)
{
    struct cron c;
    int64_t got = 0;

    CHECK_OK(cron_parse(&c, "0 22 * * *"));
    /* until is exclusive */
    CHECK(cron_next(&c, at(2026, 11, 23, 21, 0), at(2026, 11, 23, 22, 0), &got) == 0);
    CHECK(cron_next(&c, at(2026, 11, 23, 21, 0), at(2026, 11, 23, 22, 0) + 1, &got) == 1);
    CHECK(got == at(2026, 11, 23, 22, 0));
    /* a rare schedule over a long span stays cheap: Feb 29 on a Monday
     * (day fields ORed would be any Monday; here dow is a star) */
    CHECK_OK(cron_parse(&c, "0 0 29 2 *"));
    CHECK(cron_next(&c, at(2101, 1, 1, 0, 0), at(2399, 1, 1, 0, 0), &got) == 1);
    CHECK(got == at(2104, 2, 29, 0, 0)); /* 2100 is no leap year */
}

/* cron_next's jumps must find exactly what a scan of every minute finds. */
TEST(next_agrees_with_minute_scan)
{
    static const char *const specs[] = {
        "0 22 * * *",         "*/7 */5 * * *",       "0 0 13 * 5",  "30 2 1-7 * 1",
        "0 0 29 2 *",         "15 10 * jan,jul sun", "0 4 L * *",   "59 23 31 12 *",
        "0 9-17 * * mon-fri", "0 0 * * */2",         "? 3 ? ? 0/3",
    };
    int64_t starts[] = {at(2026, 11, 23, 7, 13), at(2027, 2, 27, 23, 59) + 30,
                        at(2028, 2, 28, 22, 0), at(2029, 12, 31, 23, 58)};

    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct cron c;
        if (cron_parse(&c, specs[i]) < 0)
            continue; /* "L" is not cron syntax here: refused, nothing to scan */
        for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
            int64_t from = starts[k], until = from + 40 * 86400, got = -1, t, want = -1;
            int found = cron_next(&c, from, until, &got);
            for (t = (from + 59) / 60 * 60; t < until; t += 60)
                if (cron_fires(&c, t)) {
                    want = t;
                    break;
                }
            if (found != (want >= 0) || (found && got != want))
                TEST_FAIL_("\"%s\" from %lld: next %lld, scan %lld", specs[i], (long long)from,
                           (long long)(found ? got : -1), (long long)want);
        }
    }
    CHECK_ERR(cron_parse(&(struct cron){0}, "0 4 L * *"), ERR_INVALID);
}

int main(void)
{
    RUN(fields_parse);
    RUN(bad_schedules_refused);
    RUN(next_table);
    RUN(next_stops_at_until);
    RUN(next_agrees_with_minute_scan);
    return TEST_END();
}
