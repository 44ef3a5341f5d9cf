/*
 * Tests for appliance/core/tz.c. The calendar is checked against glibc's
 * gmtime_r over four centuries; zones against glibc's localtime_r reading
 * the very same TZif files (the system's, and zones compiled by the real
 * zic at test time into a private TZDIR, with rules far past 2037 so the
 * footer's POSIX rule is what answers); malformed names and truncated or
 * corrupted files must fail cleanly.
 */
#include "core/tz.h"

#include <time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "test.h"

TEST(civil_matches_gmtime)
{
    /* 1600 to 2400 in steps that land on every hour, weekday and month */
    for (int64_t t = -11676096000LL; t < 13569465600LL; t += 86400 * 3 + 3607) {
        struct tz_civil c;
        struct tm tm;
        time_t tt = (time_t)t;

        tz_civil_from_unix(t, &c);
        CHECK(gmtime_r(&tt, &tm) != NULL);
        if (c.year != tm.tm_year + 1900LL || c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
            c.hour != tm.tm_hour || c.min != tm.tm_min || c.sec != tm.tm_sec ||
            c.wday != tm.tm_wday)
            TEST_FAIL_("t=%lld: %lld-%02d-%02d %02d:%02d:%02d wday %d", (long long)t,
                       (long long)c.year, c.month, c.day, c.hour, c.min, c.sec, c.wday);
        if (tz_days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.min * 60 +
                c.sec !=
            t)
            TEST_FAIL_("t=%lld does not round-trip", (long long)t);
    }
    CHECK(tz_month_days(2000, 2) == 29);
    CHECK(tz_month_days(1900, 2) == 28);
    CHECK(tz_month_days(2024, 2) == 29);
    CHECK(tz_month_days(2100, 2) == 28);
    CHECK(tz_month_days(2023, 12) == 31);
    /* a day past the month's end counts on into the next */
    CHECK(tz_days_from_civil(2023, 1, 32) == tz_days_from_civil(2023, 2, 1));
}

static const struct {
    const char *name;
    int32_t offset;
} fixed_cases[] = {
    {"", 0},
    {"UTC", 0},
    {"Etc/UTC", 0},
    {"GMT", 0},
    {"Zulu", 0},
    {"+05:30", 5 * 3600 + 1800},
    {"-03:00", -3 * 3600},
    {"UTC+01:00", 3600},
    {"UTC-09:30", -(9 * 3600 + 1800)},
    {"+14:00", 14 * 3600},
    {"Etc/GMT-1", 3600}, /* IANA's inverted sign */
    {"Etc/GMT+5", -5 * 3600},
    {"Etc/GMT-14", 14 * 3600},
    {"Etc/GMT+12", -12 * 3600},
};

TEST(fixed_zones_need_no_files)
{
    char *saved = getenv("TZDIR") ? xstrdup(getenv("TZDIR")) : NULL;

    setenv("TZDIR", "/nonexistent", 1);
    for (size_t i = 0; i < sizeof(fixed_cases) / sizeof(fixed_cases[0]); i++) {
        tz *z = NULL;
        CHECK_OK(tz_load(&z, fixed_cases[i].name));
        for (int64_t t = -2000000000LL; t < 5000000000LL; t += 123456789)
            if (tz_offset(z, t) != fixed_cases[i].offset)
                TEST_FAIL_("%s: offset %d, expected %d", fixed_cases[i].name, tz_offset(z, t),
                           fixed_cases[i].offset);
        CHECK_STR(tz_name(z), fixed_cases[i].name[0] ? fixed_cases[i].name : "UTC");
        tz_free(z);
    }
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
}

TEST(bad_names_refused)
{
    static const char *const bad[] = {
        "../../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd", "Europe//Berlin",
        "Europe/",          ".hidden",        "Europe/Berlin\n",         "a b",
    };
    tz *z = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_ERR(tz_load(&z, bad[i]), ERR_INVALID);
        CHECK_CONTAINS(err_last(), "not a zone name");
        CHECK(z == NULL);
    }
    CHECK_ERR(tz_load(&z, "Local"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "not supported");
    /* POSIX's "UTC+5" means five hours west: not taken as an offset */
    CHECK_ERR(tz_load(&z, "UTC+5"), ERR_INVALID);
    CHECK_ERR(tz_load(&z, "+15:00"), ERR_INVALID);
    CHECK_ERR(tz_load(&z, "Etc/GMT+13"), ERR_INVALID);
    CHECK_ERR(tz_load(&z, "Mars/Olympus_Mons"), ERR_INVALID);
    CHECK_CONTAINS(err_last(), "time zone \"Mars/Olympus_Mons\": unknown (no ");
    CHECK_CONTAINS(err_last(), "Mars/Olympus_Mons; install tzdata");
}

/* glibc's offset at t under the TZ set by the caller. */
static long glibc_offset(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    return localtime_r(&tt, &tm) ? tm.tm_gmtoff : -999999;
}

/* Compare with glibc over [from, to) every step, and at the exact second
 * of every offset change found (and the second before it). */
static int tz_compare_glibc(const char *tzdir, const char *name, int64_t from, int64_t to,
                            int64_t step)
{
    tz *z = NULL;
    int failures = 0;
    int32_t prev = 0;

    setenv("TZDIR", tzdir, 1);
    if (tz_load(&z, name) < 0) {
        fprintf(stderr, "%s: %s\n", name, err_last());
        return 1;
    }
    setenv("TZ", name, 1);
    tzset();
    for (int64_t t = from; t < to && failures < 5; t += step) {
        int64_t probe[3] = {t, t, t};
        int32_t off = tz_offset(z, t);
        if (t != from && off != prev) {
            /* the change lies in (t - step, t]: find its second */
            int64_t lo = t - step, hi = t;
            while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                *(tz_offset(z, mid) == prev ? &lo : &hi) = mid;
            }
            probe[1] = lo;
            probe[2] = hi;
        }
        prev = off;
        for (int k = 0; k < 3; k++)
            if (glibc_offset(probe[k]) != tz_offset(z, probe[k])) {
                fprintf(stderr, "%s at %lld: ours %d, glibc %ld\n", name, (long long)probe[k],
                        tz_offset(z, probe[k]), glibc_offset(probe[k]));
                failures++;
            }
    }
    tz_free(z);
    unsetenv("TZ");
    tzset();
    return failures;
}

TEST(system_zones_match_glibc)
{
    static const char *const zones[] = {
        "Europe/Berlin",     "America/New_York",  "Australia/Sydney", "Asia/Kolkata",
        "Pacific/Chatham",   "Europe/Dublin",     "America/St_Johns", "Antarctica/Troll",
        "Africa/Casablanca", "America/Sao_Paulo", "Asia/Tokyo",       "Pacific/Kiritimati",
    };

    if (!fs_exists("/usr/share/zoneinfo/Europe/Berlin")) {
        fprintf(stderr, "no tzdata on this machine: system zones not compared\n");
        return;
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
        /* 1970 to 2200: transitions, then the footer's rule from 2038 on */
        CHECK(tz_compare_glibc("/usr/share/zoneinfo", zones[i], 0, 7258118400LL, 2 * 86400 + 7) ==
              0);
}

/* zic input: a zone with rules of every date form and a southern-style
 * rule that crosses the year, all in force long after 2037. */
static const char zic_source[] = "Rule Edge 2000 max - Mar lastSun 2:00s 1:00 S\n"
                                 "Rule Edge 2000 max - Oct Sun>=1 3:00 0 -\n"
                                 "Zone Test/North 0:30 - LMT 1900\n"
                                 "  1:00 Edge CE%sT\n"
                                 "Rule South 2000 max - Oct Sun>=1 2:00s 1:00 -\n"
                                 "Rule South 2000 max - Apr Sun>=1 2:00s 0 -\n"
                                 "Zone Test/South 10:00 South AE%sT\n"
                                 "Zone Test/Fixed -4:30 - X\n"
                                 "Zone Test/Halfhour 5:45 - NPT\n";

TEST(compiled_zones_match_glibc)
{
    char *dir = test_tmpdir("tz"), *src = xasprintf("%s/zones.txt", dir);
    char *cmd = xasprintf("zic -b fat -d '%s/zi' '%s' 2>&1", dir, src);
    char *slim = xasprintf("zic -b slim -d '%s/slim' '%s' 2>&1", dir, src);
    char *zi = xasprintf("%s/zi", dir), *sl = xasprintf("%s/slim", dir);
    static const char *const zones[] = {"Test/North", "Test/South", "Test/Fixed", "Test/Halfhour"};

    CHECK_OK(fs_write_atomic(src, zic_source, strlen(zic_source), 0644));
    if (system(cmd) != 0 || system(slim) != 0)
        TEST_FAIL_("zic failed: %s", cmd);
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        /* fat files hold transitions to 2037, slim ones leave all to the
         * footer; both must agree with glibc to 2400 */
        CHECK(tz_compare_glibc(zi, zones[i], 946684800, 13569465600LL, 3 * 86400 + 11) == 0);
        CHECK(tz_compare_glibc(sl, zones[i], 946684800, 13569465600LL, 3 * 86400 + 11) == 0);
    }
    unsetenv("TZDIR");
    free(zi);
    free(sl);
    free(slim);
    free(cmd);
    free(src);
    free(dir);
}

/* Write a test file quickly (no fsync: hundreds of them). */
static void put_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Every prefix of a real file, and every byte flipped: an error or a
 * zone, never a crash (the sanitizer build checks the reads). */
TEST(damaged_files_fail_cleanly)
{
    char *dir = test_tmpdir("tzbad"), *path = xasprintf("%s/Bad/Zone", dir);
    char *sub = xasprintf("%s/Bad", dir);
    struct buf good = BUF_INIT;
    tz *z = NULL;
    size_t i;

    if (fs_read_file("/usr/share/zoneinfo/Europe/Berlin", 1 << 20, &good) < 0) {
        fprintf(stderr, "no tzdata on this machine: damaged files not tried\n");
        goto out;
    }
    CHECK_OK(fs_mkdir_p(sub, 0755));
    setenv("TZDIR", dir, 1);
    for (i = 0; i < good.len; i += 7) {
        put_file(path, good.ptr, i);
        CHECK_ERR(tz_load(&z, "Bad/Zone"), ERR_IO);
        CHECK_CONTAINS(err_last(), "is not a valid TZif file");
    }
    for (i = 0; i < good.len; i += 3) {
        char saved = good.ptr[i];
        good.ptr[i] = (char)(saved ^ 0x5a);
        put_file(path, good.ptr, good.len);
        if (tz_load(&z, "Bad/Zone") == 0) {
            (void)tz_offset(z, 0);
            (void)tz_offset(z, 4102444800LL);
            tz_free(z);
            z = NULL;
        }
        good.ptr[i] = saved;
    }
    put_file(path, good.ptr, good.len);
    CHECK_OK(tz_load(&z, "Bad/Zone"));
    CHECK(tz_offset(z, 1700000000) == 3600); /* 2023-11-14: CET */
    CHECK(tz_offset(z, 1690000000) == 7200); /* 2023-07-22: CEST */
    tz_free(z);
out:
    unsetenv("TZDIR");
    buf_dispose(&good);
    free(sub);
    free(path);
    free(dir);
}

int main(void)
{
    RUN(civil_matches_gmtime);
    RUN(fixed_zones_need_no_files);
    RUN(bad_names_refused);
    RUN(system_zones_match_glibc);
    RUN(compiled_zones_match_glibc);
    RUN(damaged_files_fail_cleanly);
    return TEST_END();
}
