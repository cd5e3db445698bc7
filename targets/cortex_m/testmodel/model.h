/* Hand-written transport/harness test fixture with the generated-model contract (not a model).
 * Reference outputs: edgenas/targets/cortex_m/testmodel.py. */
#ifndef EN_TESTMODEL_H
#define EN_TESTMODEL_H

#include <stdint.h>

#define EN_MODEL_INPUT_BYTES 256
#define EN_MODEL_OUTPUT_BYTES 16
#define EN_MODEL_NUM_LAYERS 5

int en_model_invoke(const int8_t *in, int8_t *out);

#endif /* EN_TESTMODEL_H */
