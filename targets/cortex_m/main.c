/* On-device harness: the framed binary link between the host and the model.
 *
 * Frame (all integers little-endian):
 *   magic 0xE5 0x4E | type u8 | seq u8 | length u16 | payload[length] | crc32 u32
 * The CRC-32 (zlib) covers type, seq, length and payload. Replies echo the request's seq so the
 * host can discard stale answers. The receiver resynchronises on garbage: it scans for the magic,
 * and after a bad CRC or impossible length it rescans the bytes it already buffered (a false
 * magic inside noise must not swallow the real frame behind it). A bad CRC is answered with an
 * ERROR frame so the host retries at once instead of waiting for its timeout.
 *
 * Messages (host -> device, device reply):
 *   HELLO 0x01 ()                      -> 0x81 (version u16, max_rx_payload u16, input_bytes u32,
 *                                          output_bytes u32, num_layers u32, counter_unit u32,
 *                                          counter_hz u32, stack_reserve_bytes u32)
 *   LOAD_INPUT 0x02 (offset u32, data) -> ACK 0x82 (offset u32, length u32)
 *   INVOKE 0x03 (input_crc32 u32)      -> RESULT 0x83 (status i32, total u32, stack_bytes u32,
 *                                          num_layers u32, layer_counts u32[n], output_len u32,
 *                                          output bytes)
 *   any                                -> ERROR 0x7F (code u16, reserved u16, detail u32)
 * Counts are raw en_port_cycles() deltas: cycles, or SysTick ticks under QEMU (host scales).
 */
#include <stdint.h>
#include <string.h>

#include "edgenas/port.h"
#include "edgenas/profile.h"
#include "kit.h"
#include "model.h"

#define EN_LINK_VERSION 1u
#define EN_LINK_MAGIC0 0xE5u
#define EN_LINK_MAGIC1 0x4Eu
#define EN_LINK_HDR 6u
#define EN_LINK_CHUNK 512u
#define EN_LINK_MAX_RX (4u + EN_LINK_CHUNK)
#define EN_LINK_BYTE_TIMEOUT_MS 250u

enum {
    EN_T_HELLO = 0x01,
    EN_T_LOAD_INPUT = 0x02,
    EN_T_INVOKE = 0x03,
    EN_T_HELLO_REPLY = 0x81,
    EN_T_ACK = 0x82,
    EN_T_RESULT = 0x83,
    EN_T_ERROR = 0x7F,
};

enum {
    EN_E_BAD_CRC = 1,
    EN_E_BAD_LENGTH = 2,
    EN_E_UNKNOWN_TYPE = 3,
    EN_E_BAD_RANGE = 4,
    EN_E_INPUT_CRC = 5,
    EN_E_MODEL = 6,
};

#define EN_RESULT_BYTES (20u + 4u * EN_MODEL_NUM_LAYERS + EN_MODEL_OUTPUT_BYTES)
typedef char en_result_fits_u16[(EN_RESULT_BYTES <= 0xFFFFu) ? 1 : -1];

static uint8_t en_input[EN_MODEL_INPUT_BYTES > 0 ? EN_MODEL_INPUT_BYTES : 1] __attribute__((aligned(16)));
static int8_t en_output[EN_MODEL_OUTPUT_BYTES > 0 ? EN_MODEL_OUTPUT_BYTES : 1] __attribute__((aligned(16)));
static uint8_t en_rx[EN_LINK_HDR + EN_LINK_MAX_RX + 4u];
static uint32_t en_rx_have;

/* ---- little-endian helpers ---- */
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- transmit: stream bytes out while accumulating the CRC (no frame buffer needed) ---- */
static uint32_t en_tx_crc;

static void tx_bytes(const uint8_t *p, uint32_t n)
{
    en_tx_crc = en_crc32_update(en_tx_crc, p, n);
    for (uint32_t i = 0; i < n; ++i) {
        en_port_putc(p[i]);
    }
}

static void tx_u32(uint32_t v)
{
    uint8_t b[4];
    put_u32(b, v);
    tx_bytes(b, 4u);
}

static void tx_begin(uint8_t type, uint8_t seq, uint32_t length)
{
    const uint8_t hdr[4] = {type, seq, (uint8_t)length, (uint8_t)(length >> 8)};
    en_port_putc(EN_LINK_MAGIC0);
    en_port_putc(EN_LINK_MAGIC1);
    en_tx_crc = EN_CRC32_INIT;
    tx_bytes(hdr, 4u);
}

static void tx_end(void)
{
    uint8_t b[4];
    put_u32(b, EN_CRC32_FINAL(en_tx_crc));
    for (uint32_t i = 0; i < 4u; ++i) {
        en_port_putc(b[i]);
    }
}

static void send_error(uint8_t seq, uint16_t code, uint32_t detail)
{
    tx_begin(EN_T_ERROR, seq, 8u);
    tx_u32(code);
    tx_u32(detail);
    tx_end();
}

/* ---- receive with resynchronisation ---- */

/* Drop the first buffered byte and slide to the next candidate magic byte. */
static void rx_resync(void)
{
    uint32_t i = 1u;
    while (i < en_rx_have && en_rx[i] != EN_LINK_MAGIC0) {
        ++i;
    }
    memmove(en_rx, en_rx + i, en_rx_have - i);
    en_rx_have -= i;
}

/* Buffer at least n bytes. Waits forever for a first byte, but gives up on a frame whose bytes
 * stop arriving (returns 0 and empties the buffer; the host's retry starts a fresh frame). */
static int rx_fill(uint32_t n)
{
    while (en_rx_have < n) {
        const int c = en_port_getc(en_rx_have ? EN_LINK_BYTE_TIMEOUT_MS : 0u);
        if (c < 0) {
            en_rx_have = 0u;
            return 0;
        }
        en_rx[en_rx_have++] = (uint8_t)c;
    }
    return 1;
}

/* Remove a handled frame; bytes buffered behind it (after a resync) stay for the next one. */
static void rx_consume(uint32_t n)
{
    memmove(en_rx, en_rx + n, en_rx_have - n);
    en_rx_have -= n;
}

typedef struct {
    uint8_t type, seq;
    uint32_t length;
    const uint8_t *payload;
} en_frame;

static void link_recv(en_frame *f)
{
    for (;;) {
        if (!rx_fill(1u)) {
            continue;
        }
        if (en_rx[0] != EN_LINK_MAGIC0) {
            rx_resync();
            continue;
        }
        if (!rx_fill(2u)) {
            continue;
        }
        if (en_rx[1] != EN_LINK_MAGIC1) {
            rx_resync();
            continue;
        }
        if (!rx_fill(EN_LINK_HDR)) {
            continue;
        }
        const uint32_t length = (uint32_t)en_rx[4] | ((uint32_t)en_rx[5] << 8);
        if (length > EN_LINK_MAX_RX) {
            send_error(en_rx[3], EN_E_BAD_LENGTH, length);
            rx_resync();
            continue;
        }
        if (!rx_fill(EN_LINK_HDR + length + 4u)) {
            continue;
        }
        const uint32_t crc = EN_CRC32_FINAL(en_crc32_update(EN_CRC32_INIT, en_rx + 2, 4u + length));
        if (crc != get_u32(en_rx + EN_LINK_HDR + length)) {
            send_error(en_rx[3], EN_E_BAD_CRC, crc);
            rx_resync();
            continue;
        }
        f->type = en_rx[2];
        f->seq = en_rx[3];
        f->length = length;
        f->payload = en_rx + EN_LINK_HDR;
        return;
    }
}

/* ---- message handlers ---- */
static void handle_hello(const en_frame *f)
{
    tx_begin(EN_T_HELLO_REPLY, f->seq, 28u);
    tx_u32(EN_LINK_VERSION | (EN_LINK_MAX_RX << 16));
    tx_u32(EN_MODEL_INPUT_BYTES);
    tx_u32(EN_MODEL_OUTPUT_BYTES);
    tx_u32(EN_MODEL_NUM_LAYERS);
    tx_u32(en_port_counter_unit());
    tx_u32(EN_COUNTER_HZ);
    tx_u32((uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit));
    tx_end();
}

static void handle_load(const en_frame *f)
{
    if (f->length < 4u) {
        send_error(f->seq, EN_E_BAD_LENGTH, f->length);
        return;
    }
    const uint32_t offset = get_u32(f->payload);
    const uint32_t n = f->length - 4u;
    if (offset > EN_MODEL_INPUT_BYTES || n > EN_MODEL_INPUT_BYTES - offset) {
        send_error(f->seq, EN_E_BAD_RANGE, offset);
        return;
    }
    memcpy(en_input + offset, f->payload + 4, n);
    tx_begin(EN_T_ACK, f->seq, 8u);
    tx_u32(offset);
    tx_u32(n);
    tx_end();
}

static void handle_invoke(const en_frame *f)
{
    if (f->length != 4u) {
        send_error(f->seq, EN_E_BAD_LENGTH, f->length);
        return;
    }
    const uint32_t have = EN_CRC32_FINAL(en_crc32_update(EN_CRC32_INIT, en_input, EN_MODEL_INPUT_BYTES));
    if (have != get_u32(f->payload)) {
        send_error(f->seq, EN_E_INPUT_CRC, have);
        return;
    }
    en_stack_paint();
    en_timer_restart();
    en_profile_reset();
    const uint32_t t0 = en_port_cycles();
    const int status = en_model_invoke((const int8_t *)en_input, en_output);
    const uint32_t total = en_port_cycles() - t0;
    const uint32_t stack_bytes = en_stack_high_water_bytes();
    if (status != 0) {
        send_error(f->seq, EN_E_MODEL, (uint32_t)status);
        return;
    }
    tx_begin(EN_T_RESULT, f->seq, EN_RESULT_BYTES);
    tx_u32(0u);
    tx_u32(total);
    tx_u32(stack_bytes);
    tx_u32(EN_MODEL_NUM_LAYERS);
    for (uint32_t i = 0; i < EN_MODEL_NUM_LAYERS; ++i) {
        uint32_t count;
        (void)en_profile_layer_count(i, &count);
        tx_u32(count);
    }
    tx_u32(EN_MODEL_OUTPUT_BYTES);
    tx_bytes((const uint8_t *)en_output, EN_MODEL_OUTPUT_BYTES);
    tx_end();
}

int main(void)
{
    en_port_init();
    for (;;) {
        en_frame f;
        link_recv(&f);
        switch (f.type) {
        case EN_T_HELLO:
            handle_hello(&f);
            break;
        case EN_T_LOAD_INPUT:
            handle_load(&f);
            break;
        case EN_T_INVOKE:
            handle_invoke(&f);
            break;
        default:
            send_error(f.seq, EN_E_UNKNOWN_TYPE, f.type);
            break;
        }
        rx_consume(EN_LINK_HDR + f.length + 4u);
    }
}
