/* log.c - structured log lines on stderr (see include/wva/log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "wva/log.h"
#include "wva/strbuf.h"

static int log_json;
static int log_verbosity;

void log_configure(int json, int verbosity)
{
    log_json = json;
    log_verbosity = verbosity;
}

static const char *level_name(enum wva_log_level level)
{
    switch (level) {
    case WVA_LOG_ERROR: return "error";
    case WVA_LOG_WARN: return "warning";
    case WVA_LOG_INFO: return "info";
    case WVA_LOG_DEBUG: return "debug";
    }
    return "info";
}

/* Quote a text value when it has spaces, quotes or '='. */
static void add_text_value(struct wva_strbuf *sb, const char *v)
{
    if (v[0] && !strpbrk(v, " \t\"=\n")) {
        wva_strbuf_adds(sb, v);
        return;
    }
    wva_strbuf_adds(sb, "\"");
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            wva_strbuf_adds(sb, "\\");
        if (*p == '\n') {
            wva_strbuf_adds(sb, "\\n");
            continue;
        }
        wva_strbuf_add(sb, p, 1);
    }
    wva_strbuf_adds(sb, "\"");
}

void log_event(enum wva_log_level level, const char *msg, ...)
{
    struct wva_strbuf sb = WVA_STRBUF_INIT;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;

    if (level == WVA_LOG_DEBUG && log_verbosity < 1)
        return;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

    va_start(ap, msg);
    if (log_json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "time", json_object_new_string(ts));
        json_object_object_add(o, "level", json_object_new_string(level_name(level)));
        json_object_object_add(o, "msg", json_object_new_string(msg));
        for (;;) {
            const char *k = va_arg(ap, const char *);
            if (!k)
                break;
            const char *v = va_arg(ap, const char *);
            json_object_object_add(o, k, json_object_new_string(v ? v : ""));
        }
        wva_strbuf_adds(&sb, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        wva_strbuf_addf(&sb, "time=%s level=%s msg=", ts, level_name(level));
        add_text_value(&sb, msg);
        for (;;) {
            const char *k = va_arg(ap, const char *);
            if (!k)
                break;
            const char *v = va_arg(ap, const char *);
            wva_strbuf_addf(&sb, " %s=", k);
            add_text_value(&sb, v ? v : "");
        }
    }
    va_end(ap);
    fprintf(stderr, "%s\n", wva_strbuf_str(&sb));
    wva_strbuf_release(&sb);
}
