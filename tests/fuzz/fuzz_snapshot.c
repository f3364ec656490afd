/* fuzz_snapshot.c - libFuzzer target: snapshot documents (SPEC section 8,
 * --from-file), i.e. snapshot_parse() on arbitrary bytes.
 *
 * Properties checked besides memory safety:
 *   - a document the loader accepts is valid strict JSON (its splitter
 *     must never accept what json-c itself refuses);
 *   - an accepted snapshot survives snapshot_to_json(): the output parses
 *     again, and re-serialising that gives the same text (a fixpoint);
 *   - a refused document has a non-empty error message.
 */
#include <json-c/json.h>

#include "wva/snapshot.h"

#include "fuzz.h"

/* What json-c says of the whole document with the loader's own settings. */
static bool snapshot_is_strict_json(const uint8_t *data, size_t size)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    struct json_object *obj;
    enum json_tokener_error jerr;

    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    json_object_put(obj);
    return jerr == json_tokener_success;
}

int fuzz_snapshot_one(const uint8_t *data, size_t size)
{
    struct wva_snapshot *snap = NULL, *again = NULL;
    struct wva_error err = {0};
    char *text1 = NULL, *text2 = NULL;

    if (size > (1u << 20))
        return 0;
    if (snapshot_parse((const char *)data, size, &snap, &err) < 0) {
        FUZZ_CHECK(snap == NULL);
        FUZZ_CHECK(err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(snap != NULL);
    FUZZ_CHECK(snapshot_is_strict_json(data, size));

    text1 = snapshot_to_json(snap);
    FUZZ_CHECK(text1 != NULL);
    if (snapshot_parse(text1, strlen(text1), &again, &err) < 0) {
        fprintf(stderr, "re-parse of snapshot_to_json output failed: %s\n", err.msg);
        FUZZ_CHECK(!"snapshot_to_json output parses");
    }
    text2 = snapshot_to_json(again);
    if (strcmp(text1, text2) != 0)
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", text1, text2);
    FUZZ_CHECK(strcmp(text1, text2) == 0);

    free(text1);
    free(text2);
    snapshot_free(again);
    snapshot_free(snap);
    return 0;
}

FUZZ_TARGET(fuzz_snapshot_one)
