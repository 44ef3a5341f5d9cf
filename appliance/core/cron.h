/*
 * Five-field cron schedules, read as Argo CD reads sync window schedules
 * (robfig/cron v3's standard parser): "minute hour day-of-month month
 * day-of-week", each field a comma-separated list of `*`, `?` (the same as
 * `*`), N, N-M, and any of those with /STEP (`N/STEP` runs to the field's
 * end). Months take jan-dec and weekdays sun-sat, in any case. Day of week
 * is 0-6 from Sunday; 7 is also Sunday (robfig refuses 7, cron(8) takes
 * it). When both day fields are restricted a day matches either of them,
 * otherwise both (cron(8)'s rule; `*`/STEP with STEP > 1 counts as
 * restricted, as in robfig). Descriptors (@daily) and CRON_TZ= prefixes are
 * refused: Argo CD's parser has no descriptors, and zones come from the
 * window's timeZone.
 *
 * Times are wall-clock seconds: a local date and time written as if it
 * were UTC (the caller adds the zone's offset), so the schedule knows
 * nothing of zones.
 */
#ifndef EDGECD_CORE_CRON_H
#define EDGECD_CORE_CRON_H

#include <stdint.h>

struct cron {
    uint64_t minute; /* bit n: minute n */
    uint32_t hour;   /* bits 0-23 */
    uint32_t dom;    /* bits 1-31 */
    uint32_t month;  /* bits 1-12 */
    uint32_t dow;    /* bits 0-6, Sunday 0 */
    int dom_star, dow_star;
};

/* Parse spec into *out. ERR_INVALID with a message that quotes the
 * schedule and names the field and the problem ("\"0 25 * * *\": hour:
 * 25 is above the maximum 23"); a schedule that can never fire (30 2: the
 * 30th of February) is refused too. Any thread. */
int cron_parse(struct cron *out, const char *spec);

/* As cron_parse, and also the descriptors cron(8) and Velero's schedules
 * take: @yearly (@annually), @monthly, @weekly, @daily (@midnight),
 * @hourly. For edgecd's own schedules (self-backup), not sync windows. */
int cron_parse_schedule(struct cron *out, const char *spec);

/* 1 if the schedule fires in the minute that holds wall-clock time t. */
int cron_fires(const struct cron *c, int64_t t);

/* The first whole minute at or after from, and before until, at which the
 * schedule fires: 1 and *out, or 0 if there is none. Cost grows with the
 * number of months and days skipped (a few hundred steps a year), not
 * with the minutes in between. */
int cron_next(const struct cron *c, int64_t from, int64_t until, int64_t *out);

#endif
