/* fuzz_prom.c - libFuzzer target: Prometheus instant-query responses,
 * prom_parse_response() on arbitrary bodies.
 *
 * The HTTP status is derived from the input length (mostly 200, sometimes
 * 503 or 422) so that one corpus exercises both the success path and the
 * error-envelope path.  Properties checked: an accepted response holds only
 * finite samples whose labels are non-NULL strings; a refused one leaves
 * the series empty and has a message naming the query.
 */
#include <math.h>

#include "wva/prom_client.h"

#include "fuzz.h"

int fuzz_prom_one(const uint8_t *data, size_t size)
{
    struct wva_series series = {NULL, 0};
    struct wva_error err = {0};
    size_t dropped = 12345;
    long status = size % 11 == 3 ? 503 : size % 11 == 7 ? 422 : 200;

    if (prom_parse_response("fuzz", status, (const char *)data, size, 0, &series, &dropped,
                            &err) == 0) {
        FUZZ_CHECK(dropped != 12345);
        for (size_t i = 0; i < series.count; i++) {
            FUZZ_CHECK(isfinite(series.items[i].value));
            for (size_t j = 0; j < series.items[i].labels.count; j++) {
                FUZZ_CHECK(series.items[i].labels.items[j].key != NULL);
                FUZZ_CHECK(series.items[i].labels.items[j].value != NULL);
            }
        }
    } else {
        FUZZ_CHECK(series.items == NULL && series.count == 0);
        FUZZ_CHECK(strncmp(err.msg, "Prometheus query fuzz", 21) == 0);
    }
    prom_series_free(&series);
    return 0;
}

FUZZ_TARGET(fuzz_prom_one)
