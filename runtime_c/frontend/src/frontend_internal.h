/* Steps of the front end shared between its source files (not part of the public API). */
#ifndef EDGENAS_FRONTEND_INTERNAL_H
#define EDGENAS_FRONTEND_INTERNAL_H

#include <stdint.h>

/** Mel energies of one frame's spectrum, mapped to uint8.
 * @param[in]  bins int32 [2 * EN_FE_SPECTRUM_BINS]: (re, im) of 2X[k], as en_fe_rfft_q leaves them
 * @param[out] out  uint8 [EN_FE_MEL_BINS] */
void en_fe_mel_u8(const int32_t *bins, uint8_t *out);

#endif
