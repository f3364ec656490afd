/* values.h - parsers for the small value syntaxes that come from outside:
 * booleans, Go durations, Kubernetes quantities, variantCost decimals,
 * accelerator product names, DNS labels; and the few formatters that write
 * values back (timestamps, numbers), and the clocks.  No I/O, no allocation
 * except where a result is returned.
 */
#ifndef WVA_VALUES_H
#define WVA_VALUES_H

#include <stdbool.h>
#include <stddef.h>

#include "wva/error.h"

/* true/false/1/0 in any case.  Returns 0, or -1 with err naming the value. */
int values_parse_bool(const char *text, bool *out, struct wva_error *err);

/* Go duration syntax ("90s", "1m30s", "2h", "1.5h", "300ms", "0").  A bare
 * number other than 0 is rejected, as in Go.  Negative durations are
 * rejected.  Result in seconds.  Bounded to 10 years. */
int values_parse_duration(const char *text, double *seconds, struct wva_error *err);

/* Kubernetes resource quantity ("1", "2.5", "500m", "1k", "1Gi", "1e3").
 * Result as a plain number (e.g. "500m" -> 0.5). */
int values_parse_quantity(const char *text, double *out, struct wva_error *err);

/* A plain decimal number for a numeric field ("0.8", "5", "-1", "1e-3"):
 * optional sign, digits with an optional fraction, optional exponent; no
 * blanks, hex, inf or nan.  Added for the ConfigMap fields. */
int values_parse_number(const char *text, double *out, struct wva_error *err);

/* A whole-number string for an integer field (decimal, optional sign,
 * within [min,max]). */
int values_parse_int(const char *text, long min, long max, long *out, struct wva_error *err);

/* Whether text matches ^\d+(\.\d+)?$ (the variantCost syntax). */
bool values_is_decimal(const char *text);

/* Normalise an accelerator product name to its model token:
 * NVIDIA-A100-PCIE-80GB -> A100, NVIDIA-H100-80GB-HBM3 -> H100,
 * AMD-MI300X-192G -> MI300X, Intel-Gaudi-2-96GB -> Gaudi-2; a name without a
 * dash is returned as it is.  The vendor prefix (NVIDIA, AMD, Intel) is
 * matched in any case; a dashed name without one ("Tesla-T4") is returned
 * unchanged.  Returns a malloc'd string (caller frees); NULL for NULL. */
char *values_normalize_accelerator(const char *product);

/* RFC 3339 timestamp ("2026-11-27T10:00:00Z", fractional seconds and
 * +hh:mm offsets accepted) to seconds since the epoch. */
int values_parse_rfc3339(const char *text, double *epoch, struct wva_error *err);

/* The wall clock as seconds since the epoch (fractional). */
double values_epoch_now(void);

/* Seconds (fractional) from the monotonic clock: the one clock for
 * durations and timings; its zero is arbitrary. */
double values_monotonic_seconds(void);

/* Whether the len bytes at s are a DNS-1123 label:
 * [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
bool values_is_dns_label(const char *s, size_t len);

/* The shortest "%.Ng" text (N = 15..17) that reads back as the same double:
 * 0.65 gives "0.65", not "0.65000000000000002".  buf of >= 32 bytes.
 * Non-finite values give printf's "nan"/"inf" (strtod reads them back). */
void values_format_double(double value, char *buf, size_t size);

struct json_object;

/* The one way a double becomes a JSON number (json-c, caller owns it).
 * digits > 0: that many significant digits ("%.6g": 0.045 reads as 0.045,
 * as people want it in a plan).  digits 0: the shortest text that reads
 * back as the same double, always with a '.' or an exponent ("20.0") so
 * that it reads back as a double (snapshot documents).
 * JSON has no text for NaN or an infinity: such a value is written as 0
 * (the plan, history and snapshot readers never see one; the plan's
 * documented rule is that an unknown number shows as 0). */
struct json_object *values_json_number(double value, int digits);

/* Seconds since the epoch to "YYYY-MM-DDTHH:MM:SSZ" in buf (>= 21 bytes). */
void values_format_rfc3339(double epoch, char *buf, size_t size);

#endif
