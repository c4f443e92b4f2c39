/* cores.c — how many cores this process may run on (the default of --jobs). */
#include <sched.h>
#include <unistd.h>

#include "sfrecon/scan.h"

int sfr_check_cores_available(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set) > 64 ? 64 : CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}
