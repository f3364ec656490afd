#!/usr/bin/env bash
# man_options.sh - the man page documents the whole command line: every long
# option of `wva-optimizer --help` (settings_usage()) and of the getopt table
# in src/settings.c, every environment variable the help lists (in the
# ENVIRONMENT section), and the page renders without groff warnings.
#
# Run from `make check` (top_srcdir and WVA_BIN set) or by hand:
#   top_srcdir=. WVA_BIN=build/wva-optimizer tests/man_options.sh
set -uo pipefail

top_srcdir=${top_srcdir:-.}
WVA_BIN=${WVA_BIN:-$top_srcdir/wva-optimizer}
MAN_PAGE=$top_srcdir/man/wva-optimizer.1
SETTINGS_C=$top_srcdir/src/settings.c
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

finish() {
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
}

[[ -r $MAN_PAGE ]] || { fail "man page $MAN_PAGE not found"; finish; }
[[ -x $WVA_BIN ]] || { fail "WVA_BIN $WVA_BIN is not an executable"; finish; }
help=$("$WVA_BIN" --help) || { fail "$WVA_BIN --help exited non-zero"; finish; }

# roff writes '-' as '\-' in option names; accept both spellings.
in_page() { # TEXT [FILE]
    local roff=${1//-/\\-}
    grep -qF -e "$roff" -e "$1" "${2:-$MAN_PAGE}"
}

# Long options: from the help text and from the getopt table.
mapfile -t from_help < <(grep -oE -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
mapfile -t from_table < <(sed -n '/struct option long_options\[\]/,/^};/p' "$SETTINGS_C" |
    grep -oE '\{"[a-z][a-z-]*"' | sed 's/^{"/--/; s/"$//' | sort -u)
[[ ${#from_help[@]} -gt 10 ]] || fail "too few options found in --help (${#from_help[@]})"
[[ ${#from_table[@]} -gt 10 ]] || fail "too few options found in $SETTINGS_C (${#from_table[@]})"
for opt in $(printf '%s\n' "${from_help[@]}" "${from_table[@]}" | sort -u); do
    if in_page "$opt"; then pass; else fail "option $opt is not in $MAN_PAGE"; fi
done
# An option of the getopt table that --help does not mention is a help bug.
for opt in "${from_table[@]}"; do
    if grep -qF -- "$opt" <<<"$help"; then pass; else fail "option $opt is not in --help"; fi
done

# Environment variables listed by --help, in the ENVIRONMENT section.
env_section=$(mktemp)
trap 'rm -f "$env_section"' EXIT
sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$MAN_PAGE" >"$env_section"
mapfile -t vars < <(grep -oE '^  [A-Z][A-Z_]+ ' <<<"$help" | tr -d ' ')
[[ ${#vars[@]} -gt 10 ]] || fail "too few environment variables found in --help (${#vars[@]})"
for var in "${vars[@]}" KUBECONFIG; do
    if grep -qE "^\.B[R]? $var( |\$)" "$env_section"; then pass
    else fail "variable $var is not an entry of the ENVIRONMENT section"; fi
done

# ConfigMap fields: every field of the saturation and scale-to-zero tables
# in src/configmaps.c.
CONFIGMAPS_C=$top_srcdir/src/configmaps.c
mapfile -t fields < <(grep -oE '\] = \{"[A-Za-z_]+", FIELD_' "$CONFIGMAPS_C" |
    sed 's/^] = {"//; s/", FIELD_$//' | sort -u)
[[ ${#fields[@]} -ge 8 ]] || fail "too few ConfigMap fields found in $CONFIGMAPS_C (${#fields[@]})"
for field in "${fields[@]}"; do
    if in_page "$field"; then pass; else fail "ConfigMap field $field is not in $MAN_PAGE"; fi
done

# Renders cleanly.
if command -v groff >/dev/null; then
    warnings=$(groff -man -ww -z "$MAN_PAGE" 2>&1)
    if [[ -z $warnings ]]; then pass; else fail "groff warnings: $warnings"; fi
else
    fail "groff not found (Debian package groff-base)"
fi

finish
