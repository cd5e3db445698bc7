/* Size of the packed conv filter layout; shared so both builds (and codegen's mirror) agree. */
#include "internal/checks.h"
#include "internal/conv_packed.h"

size_t en_conv2d_packed_count(const en_dims *w_dims) {
    if (w_dims == NULL || en_check_dims(w_dims) != EN_OK) {
        return 0;
    }
    return (size_t)w_dims->n * en_packed_row_values(w_dims);
}
