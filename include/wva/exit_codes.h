/* exit_codes.h - the process exit codes of SPEC section 2 and the one
 * mapping from error kinds to them, shared by every command so that they
 * cannot drift apart. */
#ifndef WVA_EXIT_CODES_H
#define WVA_EXIT_CODES_H

#include "wva/error.h"

enum wva_exit_code {
    EXIT_OK = 0,                /* success (skipped VAs are not failures) */
    EXIT_RUNTIME = 1,           /* cluster or Prometheus unreachable, nothing applied */
    EXIT_USAGE = 2,             /* usage or configuration error */
    EXIT_PARTIAL = 3,           /* some writes failed, the rest applied */
    EXIT_DOCTOR_FAILED = 4,     /* doctor found a failing check */
};

/* The exit code for a failure of this kind: usage, configuration and
 * malformed input are 2; a partial failure 3; a failed doctor check 4;
 * everything else (unreachable, refused, server errors, internal) 1;
 * WVA_ERR_NONE is 0. */
enum wva_exit_code wva_exit_code_for(enum wva_error_kind kind);

/* The exit code of a command's outcome, as main chooses it: EXIT_OK when
 * rc is 0, else wva_exit_code_for(err->kind), a failure nobody classified
 * (WVA_ERR_NONE) counting as WVA_ERR_INTERNAL. */
static inline enum wva_exit_code wva_exit_code_of(int rc, const struct wva_error *err)
{
    if (rc == 0)
        return EXIT_OK;
    return wva_exit_code_for(err->kind == WVA_ERR_NONE ? WVA_ERR_INTERNAL : err->kind);
}

#endif
