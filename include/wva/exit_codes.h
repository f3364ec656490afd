/* exit_codes.h - the process exit codes of SPEC section 2, shared by every
 * command so that they cannot drift apart. */
#ifndef WVA_EXIT_CODES_H
#define WVA_EXIT_CODES_H

enum wva_exit_code {
    EXIT_OK = 0,                /* success (skipped VAs are not failures) */
    EXIT_RUNTIME = 1,           /* cluster or Prometheus unreachable, nothing applied */
    EXIT_USAGE = 2,             /* usage or configuration error */
    EXIT_PARTIAL = 3,           /* some writes failed, the rest applied */
    EXIT_DOCTOR_FAILED = 4,     /* doctor found a failing check */
};

#endif
