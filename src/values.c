/* values.c - parsers for the small value syntaxes that reach us from
 * outside: environment variables, ConfigMap fields, VA specs, Kubernetes
 * quantities and timestamps.
 *
 * Every parser is strict (the whole text must match, no leading or trailing
 * blanks) because a half-understood value is worse than a clear error, and
 * every error message quotes the offending value.  This module knows nothing
 * about where a value came from: callers prefix the setting or field name.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "wva/strbuf.h"
#include "wva/values.h"

/* Longest value quoted verbatim in an error message; longer ones are cut so
 * that a hostile megabyte-long value cannot flood logs. */
#define QUOTE_MAX 64

#define DURATION_MAX_SECONDS (10.0 * 365 * 24 * 3600)

/* Writes text, or its first QUOTE_MAX bytes followed by "...", into buf. */
static const char *quoted(const char *text, char *buf, size_t size)
{
    size_t len = strlen(text);

    if (len <= QUOTE_MAX)
        snprintf(buf, size, "%s", text);
    else
        snprintf(buf, size, "%.*s...", QUOTE_MAX, text);
    return buf;
}

int values_parse_bool(const char *text, bool *out, struct wva_error *err)
{
    char q[QUOTE_MAX + 4];

    if (!text) {
        wva_error_set(err, "missing value where a boolean (true, false, 1 or 0) was expected");
        return -1;
    }
    if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0) {
        *out = false;
        return 0;
    }
    wva_error_set(err, "\"%s\" is not a boolean (true, false, 1 or 0)",
                  quoted(text, q, sizeof(q)));
    return -1;
}

/* Go's unit table (time.ParseDuration), in seconds.  Both spellings of the
 * micro sign are accepted, as Go does. */
static const struct {
    const char *name;
    double seconds;
} duration_units[] = {
    {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
    {"ms", 1e-3}, {"s", 1.0}, {"m", 60.0}, {"h", 3600.0},
};

/* Length of the unit at p (letters and the two micro signs) and its value;
 * 0 when p does not start a known unit. */
static size_t duration_unit(const char *p, double *seconds)
{
    size_t len = 0;

    while (p[len] && !isdigit((unsigned char)p[len]) && p[len] != '.')
        len++;
    for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
        if (strlen(duration_units[i].name) == len &&
            memcmp(duration_units[i].name, p, len) == 0) {
            *seconds = duration_units[i].seconds;
            return len;
        }
    }
    return 0;
}

/* Scans [sign] digits [. digits] (at least one digit) at *pp into *value.
 * Returns the number of digits seen, 0 when there is no number. */
static int scan_decimal(const char **pp, bool allow_sign, double *value)
{
    const char *p = *pp;
    double v = 0.0, scale = 1.0, sign = 1.0;
    int digits = 0;

    if (allow_sign && (*p == '+' || *p == '-')) {
        if (*p == '-')
            sign = -1.0;
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        v = v * 10.0 + (*p - '0');
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            scale /= 10.0;
            v += (*p - '0') * scale;
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    *pp = p;
    *value = sign * v;
    return digits;
}

int values_parse_duration(const char *text, double *seconds, struct wva_error *err)
{
    static const char syntax[] = "Go syntax such as 90s, 1m30s, 2h";
    char q[QUOTE_MAX + 4];
    const char *p = text;
    double total = 0.0;

    if (!text || !*text) {
        wva_error_set(err, "empty value is not a duration (%s)", syntax);
        return -1;
    }
    quoted(text, q, sizeof(q));
    if (*p == '-') {
        wva_error_set(err, "\"%s\" is not a valid duration: negative durations are not allowed", q);
        return -1;
    }
    if (*p == '+')
        p++;
    if (strcmp(p, "0") == 0) {
        *seconds = 0.0;
        return 0;
    }
    if (!*p)
        goto bad;
    while (*p) {
        double value, unit;
        size_t ulen;

        if (scan_decimal(&p, false, &value) == 0)
            goto bad;
        if (!*p) {
            wva_error_set(err, "\"%s\" is not a duration: missing unit (%s)", q, syntax);
            return -1;
        }
        ulen = duration_unit(p, &unit);
        if (ulen == 0)
            goto bad;
        p += ulen;
        total += value * unit;
        /* Checked per component so absurd inputs stop early; doubles do
         * not overflow into undefined behaviour, but inf is no answer. */
        if (!(total <= DURATION_MAX_SECONDS)) {
            wva_error_set(err, "\"%s\" is out of range for a duration (at most 10 years)", q);
            return -1;
        }
    }
    *seconds = total;
    return 0;
bad:
    wva_error_set(err, "\"%s\" is not a duration (%s)", q, syntax);
    return -1;
}

/* Scans an optional exponent "e[+-]digits" at *pp.  Returns 0 when absent,
 * 1 when scanned into *exp, -1 when malformed or absurdly large. */
static int scan_exponent(const char **pp, long *exp)
{
    const char *p = *pp;
    long sign = 1, v = 0;
    int digits = 0;

    if (*p != 'e' && *p != 'E')
        return 0;
    p++;
    if (*p == '+' || *p == '-') {
        if (*p == '-')
            sign = -1;
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        if (v > 100000)
            return -1;
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0)
        return -1;
    *pp = p;
    *exp = sign * v;
    return 1;
}

int values_parse_number(const char *text, double *out, struct wva_error *err)
{
    char q[QUOTE_MAX + 4];
    const char *p = text;
    double v;
    long exp = 0;

    if (!text || !*text) {
        wva_error_set(err, "empty value is not a number");
        return -1;
    }
    quoted(text, q, sizeof(q));
    if (scan_decimal(&p, true, &v) == 0 || scan_exponent(&p, &exp) < 0 || *p) {
        wva_error_set(err, "\"%s\" is not a number", q);
        return -1;
    }
    /* strtod gives the correctly rounded value for what we validated. */
    v = strtod(text, NULL);
    if (!isfinite(v)) {
        wva_error_set(err, "\"%s\" is out of range for a number", q);
        return -1;
    }
    *out = v;
    return 0;
}

/* Kubernetes quantity suffixes (k8s.io/apimachinery resource.Quantity). */
static const struct {
    const char *suffix;
    double factor;
} quantity_suffixes[] = {
    {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
    {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0},
    {"Ei", 1152921504606846976.0},
    {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6},
    {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
};

int values_parse_quantity(const char *text, double *out, struct wva_error *err)
{
    char q[QUOTE_MAX + 4];
    const char *p = text;
    double v, factor = 1.0;
    long exp;

    if (!text || !*text) {
        wva_error_set(err, "empty value is not a quantity");
        return -1;
    }
    quoted(text, q, sizeof(q));
    if (scan_decimal(&p, true, &v) == 0)
        goto bad;
    if (*p) {
        bool found = false;

        /* "E" alone is exa; "E" followed by digits is an exponent. */
        for (size_t i = 0; i < sizeof(quantity_suffixes) / sizeof(quantity_suffixes[0]); i++) {
            if (strcmp(p, quantity_suffixes[i].suffix) == 0) {
                factor = quantity_suffixes[i].factor;
                found = true;
                break;
            }
        }
        if (!found) {
            if (scan_exponent(&p, &exp) != 1 || *p)
                goto bad;
            factor = pow(10.0, (double)exp);
        }
    }
    v *= factor;
    if (!isfinite(v)) {
        wva_error_set(err, "\"%s\" is out of range for a quantity", q);
        return -1;
    }
    *out = v;
    return 0;
bad:
    wva_error_set(err, "\"%s\" is not a quantity (such as 2, 500m, 1.5Gi, 1e3)", q);
    return -1;
}

int values_parse_int(const char *text, long min, long max, long *out, struct wva_error *err)
{
    char q[QUOTE_MAX + 4];
    const char *p = text;
    char *end;
    long v;

    if (!text || !*text) {
        wva_error_set(err, "empty value is not an integer");
        return -1;
    }
    quoted(text, q, sizeof(q));
    /* strtol would skip leading blanks; refuse them. */
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        goto bad;
    errno = 0;
    v = strtol(text, &end, 10);
    if (*end)
        goto bad;
    if (errno == ERANGE || v < min || v > max) {
        wva_error_set(err, "%s is not in [%ld,%ld]", q, min, max);
        return -1;
    }
    *out = v;
    return 0;
bad:
    wva_error_set(err, "\"%s\" is not an integer", q);
    return -1;
}

bool values_is_decimal(const char *text)
{
    const char *p = text;

    if (!p || !isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static bool all_digits(const char *p, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

/* Duplicates the n bytes at p as a NUL-terminated string. */
static char *dup_span(const char *p, size_t n)
{
    char *s = wva_xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *values_normalize_accelerator(const char *product)
{
    const char *vendor_end, *model, *model_end;
    size_t vendor_len;
    bool intel;

    if (!product)
        return NULL;
    vendor_end = strchr(product, '-');
    if (!vendor_end)
        return wva_xstrdup(product);
    vendor_len = (size_t)(vendor_end - product);
    intel = vendor_len == 5 && strncasecmp(product, "Intel", 5) == 0;
    if (!intel && !(vendor_len == 6 && strncasecmp(product, "NVIDIA", 6) == 0) &&
        !(vendor_len == 3 && strncasecmp(product, "AMD", 3) == 0))
        return wva_xstrdup(product);   /* not a vendor-prefixed product name */

    model = vendor_end + 1;
    model_end = strchr(model, '-');
    if (!model_end)
        model_end = model + strlen(model);
    if (model_end == model)
        return wva_xstrdup(product);   /* "NVIDIA-" or "NVIDIA--x": no model */

    /* Gaudi generations differ as much as A100 and H100 do, so the
     * generation number is part of the model token. */
    if (intel && model_end - model == 5 && strncasecmp(model, "Gaudi", 5) == 0 &&
        *model_end == '-') {
        const char *gen = model_end + 1;
        const char *gen_end = strchr(gen, '-');

        if (!gen_end)
            gen_end = gen + strlen(gen);
        if (all_digits(gen, (size_t)(gen_end - gen)))
            model_end = gen_end;
    }
    return dup_span(model, (size_t)(model_end - model));
}

static int scan_fixed(const char **pp, int ndigits, int *out)
{
    int v = 0;

    for (int i = 0; i < ndigits; i++) {
        if (!isdigit((unsigned char)(*pp)[i]))
            return -1;
        v = v * 10 + ((*pp)[i] - '0');
    }
    *pp += ndigits;
    *out = v;
    return 0;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int values_parse_rfc3339(const char *text, double *epoch, struct wva_error *err)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char q[QUOTE_MAX + 4];
    const char *p = text;
    int year, mon, day, hour, min, sec, off_h = 0, off_m = 0, off_sign = 0;
    double frac = 0.0, scale = 1.0;
    struct tm tm;
    time_t t;

    if (!text || !*text) {
        wva_error_set(err, "empty value is not an RFC 3339 timestamp");
        return -1;
    }
    quoted(text, q, sizeof(q));
    if (scan_fixed(&p, 4, &year) || *p++ != '-' || scan_fixed(&p, 2, &mon) ||
        *p++ != '-' || scan_fixed(&p, 2, &day))
        goto bad;
    if (*p != 'T' && *p != 't' && *p != ' ')
        goto bad;
    p++;
    if (scan_fixed(&p, 2, &hour) || *p++ != ':' || scan_fixed(&p, 2, &min) ||
        *p++ != ':' || scan_fixed(&p, 2, &sec))
        goto bad;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
        while (isdigit((unsigned char)*p)) {
            scale /= 10.0;
            frac += (*p - '0') * scale;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        off_sign = *p == '+' ? 1 : -1;
        p++;
        if (scan_fixed(&p, 2, &off_h) || *p++ != ':' || scan_fixed(&p, 2, &off_m))
            goto bad;
    } else {
        goto bad;
    }
    if (*p)
        goto bad;
    if (mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] + (mon == 2 && is_leap(year)) ||
        hour > 23 || min > 59 || sec > 60 || off_h > 23 || off_m > 59) {
        wva_error_set(err, "\"%s\" is not a valid RFC 3339 timestamp: a field is out of range", q);
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;    /* a leap second 60 rolls over, as timegm does */
    t = timegm(&tm);
    *epoch = (double)t + frac - off_sign * (off_h * 3600.0 + off_m * 60.0);
    return 0;
bad:
    wva_error_set(err, "\"%s\" is not an RFC 3339 timestamp (such as 2026-11-27T10:00:00Z)", q);
    return -1;
}

double values_epoch_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double values_monotonic_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Byte tests rather than <ctype.h>: a label is ASCII whatever the locale. */
static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool values_is_dns_label(const char *s, size_t len)
{
    if (!s || len == 0 || len > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

void values_format_double(double value, char *buf, size_t size)
{
    /* %.17g always reads back (for a finite value); shorter is nicer */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, value);
        if (strtod(buf, NULL) == value)
            return;
    }
}

struct json_object *values_json_number(double value, int digits)
{
    char text[48];

    if (!isfinite(value))
        value = 0;
    if (digits > 0) {
        snprintf(text, sizeof(text), "%.*g", digits > 17 ? 17 : digits, value);
    } else {
        values_format_double(value, text, sizeof(text) - 2);
        if (!strpbrk(text, ".eE"))
            strcat(text, ".0");
    }
    return json_object_new_double_s(value, text);
}

void values_format_rfc3339(double epoch, char *buf, size_t size)
{
    struct tm tm;
    time_t t;

    if (!buf || size == 0)
        return;
    /* Years beyond 9999 do not fit the format; clamp rather than print a
     * timestamp nobody can parse. */
    if (!isfinite(epoch))
        epoch = 0;
    if (epoch < -62167219200.0)
        epoch = -62167219200.0;
    if (epoch > 253402300799.0)
        epoch = 253402300799.0;
    t = (time_t)floor(epoch);
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, size, "1970-01-01T00:00:00Z");
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
