/* fuzz_values.c - libFuzzer target: the other small value syntaxes of
 * values.h, all on every input: booleans, integers, plain numbers, the
 * variantCost decimal, RFC 3339 timestamps, and accelerator names (label
 * values such as nvidia.com/gpu.product and the VA accelerator label).
 *
 * Properties checked:
 *   - bool: accepted exactly for true/false/1/0 in any case;
 *   - int: accepted values lie in [min, max];
 *   - number: accepted values are finite; a variantCost decimal that is
 *     accepted as a number reads the same as strtod;
 *   - RFC 3339: an accepted timestamp formats and re-parses to the same
 *     whole second (when inside the years the format can hold);
 *   - accelerator: the normalised name is a non-empty substring of the
 *     input (or the input itself), and normalising is idempotent for
 *     names without a vendor prefix.
 */
#include <math.h>
#include <strings.h>

#include "wva/values.h"

#include "fuzz.h"

static void values_check_bool(const char *text)
{
    struct wva_error err = {0};
    bool b, want;
    bool valid = strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
                 strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0;

    want = strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0;
    if (values_parse_bool(text, &b, &err) == 0)
        FUZZ_CHECK(valid && b == want);
    else
        FUZZ_CHECK(!valid && err.msg[0]);
}

static void values_check_int(const char *text)
{
    struct wva_error err = {0};
    long v;

    if (values_parse_int(text, -1000, 1000000, &v, &err) == 0)
        FUZZ_CHECK(v >= -1000 && v <= 1000000);
    else
        FUZZ_CHECK(err.msg[0]);
}

static void values_check_number(const char *text)
{
    struct wva_error err = {0};
    double v;

    if (values_parse_number(text, &v, &err) == 0) {
        FUZZ_CHECK(isfinite(v));
        if (values_is_decimal(text))
            FUZZ_CHECK(v == strtod(text, NULL));
    } else {
        FUZZ_CHECK(err.msg[0]);
    }
}

static void values_check_rfc3339(const char *text)
{
    struct wva_error err = {0};
    char buf[32];
    double epoch, again;

    if (values_parse_rfc3339(text, &epoch, &err) < 0)
        return;
    FUZZ_CHECK(isfinite(epoch));
    /* Years 0001..9999 after applying the offset. */
    if (epoch < -62135596800.0 || epoch > 253402300799.0)
        return;
    values_format_rfc3339(epoch, buf, sizeof(buf));
    FUZZ_CHECK(values_parse_rfc3339(buf, &again, &err) == 0);
    FUZZ_CHECK(again == floor(epoch));
}

static void values_check_accelerator(const char *text)
{
    char *norm = values_normalize_accelerator(text);

    FUZZ_CHECK(norm != NULL);
    FUZZ_CHECK(strstr(text, norm) != NULL);
    FUZZ_CHECK(norm[0] != '\0' || text[0] == '\0');
    if (!strchr(norm, '-')) {
        char *twice = values_normalize_accelerator(norm);

        FUZZ_CHECK(strcmp(twice, norm) == 0);
        free(twice);
    }
    free(norm);
}

int fuzz_values_one(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);

    values_check_bool(text);
    values_check_int(text);
    values_check_number(text);
    values_check_rfc3339(text);
    values_check_accelerator(text);
    (void)values_is_decimal(text);
    free(text);
    return 0;
}

FUZZ_TARGET(fuzz_values_one)
