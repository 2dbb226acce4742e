/* log.c — JSON line logger (see log.h). */
#include "core/log.h"

#include "core/buf.h"
#include "core/clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_fd = 2;

void log_set_level(enum log_level lvl)
{
    atomic_store(&log_level, (int)lvl);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level);
}

void log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

int log_level_parse(const char *s)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    if (!s)
        return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Append s as JSON string content (no quotes) into out[*pos..cap). Stops before a
 * character that would not fit, never inside a UTF-8 sequence, and writes U+FFFD for
 * bytes that are not valid UTF-8, so a truncated or binary message is still a valid
 * JSON line. */
static void log_escape(char *out, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char tmp[6];
        size_t tl = 0, adv = 1;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c == '\n') {
            tmp[0] = '\\';
            tmp[1] = 'n';
            tl = 2;
        } else if (c < 0x20) {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4];
            tmp[5] = hex[c & 15];
            tl = 6;
        } else if (c >= 0x80) {
            adv = buf_utf8_len(u + i, n - i);
            if (adv) {
                memcpy(tmp, u + i, adv);
                tl = adv;
            } else {
                memcpy(tmp, "\xef\xbf\xbd", 3);
                tl = 3;
                adv = 1;
            }
        } else {
            tmp[0] = (char)c;
            tl = 1;
        }
        if (*pos + tl >= cap)
            return;
        memcpy(out + *pos, tmp, tl);
        *pos += tl;
        i += adv;
    }
}

void log_msg(enum log_level lvl, const char *comp, const char *fields, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    if ((int)lvl < atomic_load(&log_level) || (int)lvl < 0 || lvl >= LOG_OFF)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char line[4096];
    char ts[40];
    clock_fmt_rfc3339(clock_wall_ns(), ts, sizeof(ts));
    size_t pos = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":\"",
                                  ts, names[lvl]);
    log_escape(line, sizeof(line) - 64, &pos, comp ? comp : "-");
    memcpy(line + pos, "\",\"msg\":\"", 9);
    pos += 9;
    log_escape(line, sizeof(line) - 64, &pos, msg);
    line[pos++] = '"';
    if (fields && *fields) {
        size_t fl = strlen(fields);
        if (pos + fl + 4 < sizeof(line)) {
            line[pos++] = ',';
            memcpy(line + pos, fields, fl);
            pos += fl;
        }
    }
    line[pos++] = '}';
    line[pos++] = '\n';
    ssize_t w = write(atomic_load(&log_fd), line, pos);
    (void)w;
}
