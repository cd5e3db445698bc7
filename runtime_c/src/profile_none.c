/* No-op profiling hooks for host builds: generated model code always calls them, and only the
 * on-device harness records cycles (see include/edgenas/profile.h). */
#include "edgenas/profile.h"

void en_profile_begin(void) {}

void en_profile_mark(uint32_t layer_done) { (void)layer_done; }
