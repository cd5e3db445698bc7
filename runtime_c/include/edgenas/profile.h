/* Per-layer profiling hook called by generated model code.
 *
 * Generated `en_model_invoke()` calls en_profile_begin() once before the first layer and
 * en_profile_mark(i) right after layer i (0-based, in execution order) finishes. The on-device
 * harness implements both to record en_port_cycles(); host builds link profile_none.c (no-ops).
 */
#ifndef EDGENAS_PROFILE_H
#define EDGENAS_PROFILE_H

#include <stdint.h>

void en_profile_begin(void);
void en_profile_mark(uint32_t layer_done);

#endif /* EDGENAS_PROFILE_H */
