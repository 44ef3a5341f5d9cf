/*
 * Logging to stderr, one line per event: time, level, message. Lines are
 * written with a single write(2) so lines from several threads never
 * interleave. Callers must never pass secrets (tokens, passwords, keys,
 * Secret data) to these functions.
 */
#ifndef EDGECD_CORE_LOG_H
#define EDGECD_CORE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Minimum level printed; default LOG_INFO. Any thread. */
void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn", "error"; -1 for anything else. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
