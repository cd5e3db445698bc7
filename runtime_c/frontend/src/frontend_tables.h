/* The front end's constant tables (generated into frontend_tables.c; see edgenas/audio/tables.py). */
#ifndef EDGENAS_FRONTEND_TABLES_H
#define EDGENAS_FRONTEND_TABLES_H

#include <stdint.h>

#include "edgenas/frontend_config.h"

extern const int16_t en_fe_window[EN_FE_FRAME_SAMPLES];
extern const int16_t en_fe_cos[EN_FE_FFT_SIZE / 2];
extern const int16_t en_fe_sin[EN_FE_FFT_SIZE / 2];
extern const uint16_t en_fe_mel_start[EN_FE_MEL_BINS];
extern const uint16_t en_fe_mel_len[EN_FE_MEL_BINS];
extern const uint16_t en_fe_mel_offset[EN_FE_MEL_BINS];
extern const int16_t en_fe_mel_weights[EN_FE_MEL_WEIGHTS];
extern const int32_t en_fe_log2_lut[(1 << EN_FE_LOG2_LUT_BITS) + 1];

#endif
