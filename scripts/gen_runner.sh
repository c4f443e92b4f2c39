#!/bin/sh
# Generates the Check runner: one srunner with every NAME_suite() of the given files.
set -e
names=$(grep -ho 'Suite *\* *[a-z0-9_]*_suite *(void)' "$@" | sed 's/Suite *\* *//; s/ *(void)//' | sort -u)
echo '#include <check.h>'
echo '#include <stdlib.h>'
for n in $names; do echo "Suite *$n(void);"; done
echo 'int main(void) {'
echo '    SRunner *sr = srunner_create(NULL);'
for n in $names; do echo "    srunner_add_suite(sr, $n());"; done
echo '    srunner_run_all(sr, CK_NORMAL);'
echo '    int failed = srunner_ntests_failed(sr);'
echo '    srunner_free(sr);'
echo '    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;'
echo '}'
