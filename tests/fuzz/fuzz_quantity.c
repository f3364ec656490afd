/* fuzz_quantity.c - libFuzzer target: Kubernetes resource quantities
 * (values_parse_quantity), as GPU requests and allocatable counts arrive in
 * pod, Deployment and Node objects.
 *
 * Properties checked: an accepted quantity is finite; a negative one
 * starts with '-'; one without a sign and suffix equals strtod's reading
 * of the same text (within rounding); a refused value has a bounded
 * message.
 */
#include <math.h>

#include "wva/values.h"

#include "fuzz.h"

int fuzz_quantity_one(const uint8_t *data, size_t size)
{
    struct wva_error err = {0};
    char *text = fuzz_cstr(data, size);
    double q = 0;

    if (values_parse_quantity(text, &q, &err) == 0) {
        FUZZ_CHECK(isfinite(q));
        FUZZ_CHECK(q >= 0 || text[0] == '-');
        if (strspn(text, "0123456789.") == strlen(text)) {
            double ref = strtod(text, NULL);

            FUZZ_CHECK(fabs(q - ref) <= 1e-9 * fabs(ref) + 1e-300 || q == ref);
        }
    } else {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(strlen(err.msg) < 200);
    }
    free(text);
    return 0;
}

FUZZ_TARGET(fuzz_quantity_one)
