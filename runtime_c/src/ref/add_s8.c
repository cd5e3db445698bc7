/* Element-wise int8 ADD of two same-shape tensors, TFLite semantics (see en_add_elem). */
#include <stddef.h>

#include "edgenas/kernels.h"
#include "internal/checks.h"
#include "internal/fixedpoint.h"

en_status en_add_s8(const en_add_quant *a, int32_t size, const int8_t *in1, const int8_t *in2,
                    int8_t *out) {
    if (a == NULL || size < 1 || in1 == NULL || in2 == NULL || out == NULL ||
        en_check_add_quant(a) != EN_OK) {
        return EN_ERR_ARG;
    }
    /* Element i reads in1[i] and in2[i] before writing out[i], so exact aliasing is safe and
     * partial overlap (a shifted view) is not. */
    const size_t n = (size_t)size;
    if ((out != in1 && en_overlaps(out, n, in1, n)) || (out != in2 && en_overlaps(out, n, in2, n))) {
        return EN_ERR_ARG;
    }
    for (size_t i = 0; i < n; ++i) {
        out[i] = en_add_elem(a, in1[i], in2[i]);
    }
    return EN_OK;
}
