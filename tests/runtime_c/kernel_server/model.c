/* Kernel server (tests/runtime_c/kernel_server.py builds the blobs and reads the results).
 *
 * The input blob is copied into the arena (16-byte aligned) and read there: a chain of calls,
 * each a header of HDR_WORDS int32 values (H_NEXT: the next call's offset, or -1) and the arrays
 * it points at (byte offsets from the blob start; -1 = NULL). Output pointers point into the
 * blob too, so an in-place call is simply an output offset equal to an input offset. Layer
 * 2i + 1 is call i alone, so its count is the kernel's instructions. Output: for each call in
 * order, its int32 status, then out_bytes from its output offset.
 */
#include <stddef.h>
#include <stdint.h>

#include "edgenas/kernels.h"
#include "edgenas/profile.h"
#include "model.h"

uint8_t en_arena[EN_ARENA_BYTES] __attribute__((aligned(16)));

enum {
    OP_FC = 1,
    OP_CONV = 2,
    OP_CONV_PACKED = 3,
    OP_CONV_PACKED_IN_PLACE = 4,
    OP_CONV_ADD = 5,
    OP_CONV_ADD_PACKED = 6,
    OP_DWCONV = 7,
    OP_ADD = 8,
    OP_AVGPOOL = 9,
    OP_FC_PACKED = 10,
    OP_DWCONV_KX1 = 11,
    OP_FC_WIDE = 12
};

/* header word indices */
enum {
    H_OP = 0,
    H_IN_DIMS = 1,   /* 4 words */
    H_W_DIMS = 5,    /* 4 words */
    H_OUT_DIMS = 9,  /* 4 words */
    H_CONV = 13,     /* stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left */
    H_RQ = 19,       /* input_zp, output_zp, per_channel, act_min, act_max */
    H_ADD = 24,      /* the 12 en_add_quant fields in order */
    H_FC = 36,       /* batches, in_features, out_features */
    H_X = 39,        /* offsets: input, weights, bias, mult, shift, skip/in2, output, scratch */
    H_W = 40,
    H_BIAS = 41,
    H_MULT = 42,
    H_SHIFT = 43,
    H_SKIP = 44,
    H_OUT = 45,
    H_SCRATCH = 46,
    H_OUT_BYTES = 47,
    H_SIZE = 48,     /* element count of OP_ADD */
    H_NEXT = 49,     /* offset of the next call's header, -1 after the last */
    H_POOL = 50,     /* the 8 en_pool_params fields in order */
    H_LUT = 58,      /* offset of the en_add_quant table (512 int32), -1 = NULL */
    HDR_WORDS = 64
};

static void *at(int32_t off) {
    return off < 0 ? NULL : (void *)(en_arena + off);
}

static en_dims dims(const int32_t *h) {
    en_dims d = {h[0], h[1], h[2], h[3]};
    return d;
}

static en_status run_call(const int32_t *h) {
    const en_dims in_d = dims(h + H_IN_DIMS), w_d = dims(h + H_W_DIMS), out_d = dims(h + H_OUT_DIMS);
    const en_conv_params p = {h[H_CONV], h[H_CONV + 1], h[H_CONV + 2], h[H_CONV + 3],
                              h[H_CONV + 4], h[H_CONV + 5]};
    const en_requant q = {h[H_RQ], h[H_RQ + 1], (const int32_t *)at(h[H_MULT]),
                          (const int32_t *)at(h[H_SHIFT]), h[H_RQ + 2], h[H_RQ + 3], h[H_RQ + 4]};
    const int32_t *g = h + H_ADD;
    const en_add_quant a = {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11],
                            (const int32_t *)at(h[H_LUT])};
    const int8_t *x = (const int8_t *)at(h[H_X]);
    const int8_t *w = (const int8_t *)at(h[H_W]);
    const int32_t *bias = (const int32_t *)at(h[H_BIAS]);
    const int8_t *skip = (const int8_t *)at(h[H_SKIP]);
    int8_t *y = (int8_t *)at(h[H_OUT]);
    switch (h[H_OP]) {
    case OP_FC:
        return en_fc_s8(&q, h[H_FC], h[H_FC + 1], x, h[H_FC + 2], w, bias, y);
    case OP_FC_PACKED:
        return en_fc_packed_s8(&q, h[H_FC], h[H_FC + 1], x, h[H_FC + 2], w, bias, y);
    case OP_FC_WIDE:
        return en_fc_wide_s8(&q, h[H_FC], h[H_FC + 1], x, h[H_FC + 2],
                             (const int16_t *)(const void *)w, bias, y);
    case OP_CONV:
        return en_conv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, y);
    case OP_CONV_PACKED:
        return en_conv2d_packed_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, y);
    case OP_CONV_PACKED_IN_PLACE:
        return en_conv2d_packed_in_place_s8(&q, &in_d, y, &w_d, w, bias, &out_d);
    case OP_CONV_ADD:
        return en_conv2d_add_s8(&p, &q, &a, &in_d, x, &w_d, w, bias, skip, &out_d, y);
    case OP_CONV_ADD_PACKED:
        return en_conv2d_add_packed_s8(&p, &q, &a, &in_d, x, &w_d, w, bias, skip, &out_d, y);
    case OP_DWCONV:
        return en_dwconv2d_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, y, at(h[H_SCRATCH]));
    case OP_DWCONV_KX1: /* the entry point the compiler calls for this kernel height */
        if (w_d.h >= 5) {
            return en_dwconv2d_kx1_long_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, y, at(h[H_SCRATCH]));
        }
        return en_dwconv2d_kx1_s8(&p, &q, &in_d, x, &w_d, w, bias, &out_d, y, at(h[H_SCRATCH]));
    case OP_ADD:
        return en_add_s8(&a, h[H_SIZE], x, skip, y);
    case OP_AVGPOOL: {
        const int32_t *f = h + H_POOL;
        const en_pool_params pp = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
        return en_avgpool2d_s8(&pp, &in_d, x, &out_d, y);
    }
    default:
        return EN_ERR_ARG;
    }
}

int en_model_invoke(const int8_t *in, int8_t *out) {
    for (uint32_t i = 0; i < EN_MODEL_INPUT_BYTES; ++i) {
        en_arena[i] = (uint8_t)in[i];
    }
    int32_t status[EN_KS_MAX_CALLS];
    int32_t calls = 0;
    en_profile_begin();
    for (int32_t off = 0; calls < EN_KS_MAX_CALLS; ++calls) {
        const int32_t *h = (const int32_t *)(const void *)(en_arena + off);
        en_profile_mark(2u * (uint32_t)calls);
        status[calls] = (int32_t)run_call(h);
        en_profile_mark(2u * (uint32_t)calls + 1u);
        off = h[H_NEXT];
        if (off < 0) {
            ++calls;
            break;
        }
    }
    int32_t pos = 0;
    for (int32_t i = 0, off = 0; i < calls; ++i) {
        const int32_t *h = (const int32_t *)(const void *)(en_arena + off);
        const int8_t *y = (const int8_t *)at(h[H_OUT]);
        const uint8_t *s = (const uint8_t *)&status[i];
        for (int32_t k = 0; k < 4 && pos < EN_MODEL_OUTPUT_BYTES; ++k) {
            out[pos++] = (int8_t)s[k];
        }
        for (int32_t k = 0; k < h[H_OUT_BYTES] && pos < EN_MODEL_OUTPUT_BYTES; ++k) {
            out[pos++] = y == NULL ? 0 : y[k];
        }
        off = h[H_NEXT];
    }
    return 0;
}
