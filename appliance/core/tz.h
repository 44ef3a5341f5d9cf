/*
 * Time zones for schedules, and calendar arithmetic on Unix time.
 *
 * A zone is resolved once, when the schedule that names it is read, into a
 * table that answers "what is the offset from UTC at this instant" without
 * touching the disk or the process's TZ (localtime_r would need the
 * environment and a global lock, and a static binary carries no zones of
 * its own). Names:
 *   - "" and "UTC": UTC;
 *   - "+05:30", "-03:00", "UTC+05:30": a fixed offset east of UTC, as
 *     written (ISO 8601's sign);
 *   - "Etc/GMT-1" ... and the UTC aliases (GMT, Etc/UTC, Zulu, ...): built
 *     in, IANA's meaning (Etc/GMT-1 is +01:00);
 *   - any other IANA name ("Europe/Berlin"): the TZif file of that name
 *     under $TZDIR or /usr/share/zoneinfo (Debian's tzdata package), with
 *     its transitions and the POSIX rule of its footer for later years.
 */
#ifndef EDGECD_CORE_TZ_H
#define EDGECD_CORE_TZ_H

#include <stdint.h>

typedef struct tz tz;

/* A calendar date and time of day (proleptic Gregorian). */
struct tz_civil {
    int64_t year;
    int month; /* 1-12 */
    int day;   /* 1-31 */
    int hour, min, sec;
    int wday; /* 0 = Sunday */
};

/* Days since 1970-01-01 of a date (month 1-12; day may run past the
 * month's end, it counts on). */
int64_t tz_days_from_civil(int64_t year, int month, int day);

/* The calendar date and time of t seconds since the epoch. */
void tz_civil_from_unix(int64_t t, struct tz_civil *out);

/* Days in month (1-12) of year. */
int tz_month_days(int64_t year, int month);

/* Resolve a zone name (see above) into *out, which the caller frees with
 * tz_free. ERR_INVALID naming the zone when the name is malformed or no
 * zone of that name exists (the message says where it looked), ERR_IO
 * when the zone's file cannot be read or is not a valid TZif file. Any
 * thread. */
int tz_load(tz **out, const char *name);
void tz_free(tz *z);

/* The zone's offset east of UTC, in seconds, at instant t (seconds since
 * the epoch, UTC). Any thread. */
int32_t tz_offset(const tz *z, int64_t t);

/* The name the zone was loaded by ("UTC" for ""). Owned by z. */
const char *tz_name(const tz *z);

#endif
