/* Kernel server: a test fixture with the generated-model contract that runs up to
 * EN_KS_MAX_CALLS runtime_c kernel calls per "inference", described by its input blob (layout in
 * model.c and tests/runtime_c/kernel_server.py). Sizes can be set with -D at build time. */
#ifndef EN_KERNEL_SERVER_MODEL_H
#define EN_KERNEL_SERVER_MODEL_H

#include <stdint.h>

#ifndef EN_KS_INPUT_BYTES
#define EN_KS_INPUT_BYTES 16384
#endif
#ifndef EN_KS_OUTPUT_BYTES
#define EN_KS_OUTPUT_BYTES 4096
#endif
#define EN_KS_MAX_CALLS 16

#define EN_MODEL_INPUT_BYTES EN_KS_INPUT_BYTES
#define EN_MODEL_OUTPUT_BYTES EN_KS_OUTPUT_BYTES
/* two marks per call: layer 2i is the set-up before call i, layer 2i + 1 the call alone */
#define EN_MODEL_NUM_LAYERS (2 * EN_KS_MAX_CALLS)
#define EN_ARENA_BYTES EN_KS_INPUT_BYTES

extern uint8_t en_arena[EN_ARENA_BYTES];

int en_model_invoke(const int8_t *in, int8_t *out);

#endif /* EN_KERNEL_SERVER_MODEL_H */
