/* testhook.c — the production build's sfr_test_point: does nothing. It is
 * alone in its object file so that a test binary can link its own
 * definition ahead of the library (see include/sfrecon/testhook.h). */
#include "sfrecon/testhook.h"

void sfr_test_point(const char *point)
{
    (void)point;
}
