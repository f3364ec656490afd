/* fuzz_duration.c - libFuzzer target: Go-syntax durations
 * (values_parse_duration), as GLOBAL_OPT_INTERVAL, retention_period and
 * scaleDownStabilizationWindow arrive from the environment and ConfigMaps.
 *
 * Properties checked: an accepted duration is finite, >= 0 and at most the
 * 10-year bound; "-..." is always refused; a refused value has a message
 * that quotes at most 64 bytes of it; a valid duration stays valid with a
 * "0s" component appended and keeps its value.
 */
#include <math.h>

#include "wva/values.h"

#include "fuzz.h"

#define DURATION_BOUND (10.0 * 365 * 24 * 3600)

int fuzz_duration_one(const uint8_t *data, size_t size)
{
    struct wva_error err = {0};
    char *text = fuzz_cstr(data, size);
    double seconds = -1, again = -1;

    if (values_parse_duration(text, &seconds, &err) == 0) {
        FUZZ_CHECK(isfinite(seconds) && seconds >= 0 && seconds <= DURATION_BOUND);
        FUZZ_CHECK(text[0] != '-');
        if (strcmp(text, "0") != 0 && strcmp(text, "+0") != 0) {
            struct wva_strbuf sb = WVA_STRBUF_INIT;

            wva_strbuf_addf(&sb, "%s0s", text);
            FUZZ_CHECK(values_parse_duration(wva_strbuf_str(&sb), &again, &err) == 0);
            FUZZ_CHECK(again == seconds);
            wva_strbuf_release(&sb);
        }
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(strlen(err.msg) < 200);
    }
    free(text);
    return 0;
}

FUZZ_TARGET(fuzz_duration_one)
