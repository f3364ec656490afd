/* log.h - one line per event on stderr: "level=info msg=... key=value", or
 * one JSON object per line with --log-format json.  Never pass secrets.
 * The only process-wide state is the format and verbosity set once by main.
 */
#ifndef WVA_LOG_H
#define WVA_LOG_H

enum wva_log_level { WVA_LOG_ERROR, WVA_LOG_WARN, WVA_LOG_INFO, WVA_LOG_DEBUG };

/* json: nonzero for JSON lines.  verbosity: 0 = info and above, >= 1 adds
 * debug.  Call once, before any logging. */
void log_configure(int json, int verbosity);

/* msg is a short sentence; the variadic part is key, value pairs of
 * strings terminated by NULL: log_event(WVA_LOG_INFO, "run done",
 * "variants", "12", NULL). */
void log_event(enum wva_log_level level, const char *msg, ...);

#endif
