/* Per-layer profiling: generated model code calls en_profile_begin() and en_profile_mark(i);
 * we keep raw counter values in a fixed array (no formatting on the device) and the harness
 * turns them into per-layer deltas for the RESULT frame. */
#include <stdint.h>

#include "edgenas/port.h"
#include "edgenas/profile.h"
#include "kit.h"
#include "model.h"

#define EN_PROFILE_SLOTS (EN_MODEL_NUM_LAYERS > 0 ? EN_MODEL_NUM_LAYERS : 1)

static uint32_t en_prof_begin;
static uint32_t en_prof_marks[EN_PROFILE_SLOTS];
static uint8_t en_prof_seen[EN_PROFILE_SLOTS];

void en_profile_reset(void)
{
    for (uint32_t i = 0; i < EN_PROFILE_SLOTS; ++i) {
        en_prof_seen[i] = 0u;
    }
    en_prof_begin = en_port_cycles();
}

void en_profile_begin(void)
{
    en_prof_begin = en_port_cycles();
}

void en_profile_mark(uint32_t layer_done)
{
    const uint32_t now = en_port_cycles();
    if (layer_done < EN_PROFILE_SLOTS) {
        en_prof_marks[layer_done] = now;
        en_prof_seen[layer_done] = 1u;
    }
}

/* Count for `layer` = its mark minus the previous recorded mark (or begin). Returns 1 if the
 * layer was marked during the last inference, 0 (count 0) if not. */
uint32_t en_profile_layer_count(uint32_t layer, uint32_t *out_count)
{
    if (layer >= EN_PROFILE_SLOTS || !en_prof_seen[layer]) {
        *out_count = 0u;
        return 0u;
    }
    uint32_t prev = en_prof_begin;
    for (uint32_t i = layer; i-- > 0;) {
        if (en_prof_seen[i]) {
            prev = en_prof_marks[i];
            break;
        }
    }
    *out_count = en_prof_marks[layer] - prev;
    return 1u;
}
