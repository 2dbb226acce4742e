/*
 * log.h — structured JSON logs, one object per line on stderr:
 *   {"ts":"2026-11-22T02:16:07.123Z","level":"info","comp":"http","msg":"listening","port":4318}
 * Extra fields are passed as a preformatted JSON fragment (may be NULL):
 *   log_msg(LOG_INFO, "http", "\"port\":4318", "listening on %s", addr);
 * Thread-safe: each line is written with a single write(2).
 */
#ifndef ORASI_CORE_LOG_H
#define ORASI_CORE_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parse "debug|info|warn|error|off"; -1 when unknown. */
int log_level_parse(const char *s);
/* Write to this fd instead of stderr (tests). */
void log_set_fd(int fd);

void log_msg(enum log_level lvl, const char *comp, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LOG_D(comp, ...) log_msg(LOG_DEBUG, comp, NULL, __VA_ARGS__)
#define LOG_I(comp, ...) log_msg(LOG_INFO, comp, NULL, __VA_ARGS__)
#define LOG_W(comp, ...) log_msg(LOG_WARN, comp, NULL, __VA_ARGS__)
#define LOG_E(comp, ...) log_msg(LOG_ERROR, comp, NULL, __VA_ARGS__)

#endif
