/* On-device harness: the framed binary link between the host and the model.
 *
 * Frame (all integers little-endian):
 *   magic 0xE5 0x4E | type u8 | seq u8 | length u16 | hcheck u8 | payload[length] | crc32 u32 | pad 0x00
 * hcheck is the low byte of the CRC-32 of type, seq and length, so a damaged header (a length
 * that would make the receiver wait for bytes that never come) is refused at once. The CRC-32
 * (zlib) covers type, seq, length, hcheck and payload. Replies echo the request's seq so the
 * host can discard stale answers. The pad byte is idle filler that both sides skip between
 * frames: when the line drops a byte of a frame, the pad completes it, so the receiver sees a
 * bad CRC at once instead of waiting for a byte that never comes. The receiver resynchronises
 * on garbage: it scans for the magic, and after a bad CRC or impossible length it rescans the
 * bytes it already buffered (a false magic inside noise must not swallow the real frame behind
 * it). A bad CRC is answered with an ERROR frame so the host retries at once, and so is garbage
 * followed by a quiet line (a request that lost its magic).
 *
 * Messages (host -> device, device reply):
 *   HELLO 0x01 ()                      -> 0x81 (version u16, max_rx_payload u16, input_bytes u32,
 *                                          output_bytes u32, num_layers u32, counter_unit u32,
 *                                          counter_hz u32, stack_reserve_bytes u32, arena_bytes u32)
 *   LOAD_INPUT 0x02 (offset u32, data) -> ACK 0x82 (offset u32, length u32)
 *   INVOKE 0x03 (input_crc u32, invoke_id u32)
 *                                      -> STARTED 0x84 (invoke_id u32) at once, then
 *                                         DONE 0x83 (invoke_id u32, result_bytes u32, result_crc u32,
 *                                         replayed u32: 1 = answered from the stored result)
 *   READ_RESULT 0x04 (offset u32, length u32) -> RESULT_DATA 0x85 (offset u32, bytes)
 *   any                                -> ERROR 0x7F (code u16, side u16, detail u32)
 * The result of the last inference stays on the device and is read in pieces, so the host
 * re-requests only a damaged piece, sized to the link's error rate. An INVOKE repeating the last
 * invoke_id (the host lost our STARTED or DONE) is answered from that stored result, not run again.
 * Result bytes: status i32, total u32, stack_bytes u32, arena_touched_bytes u32, num_layers u32,
 * layer_counts u32[n], output_len u32, output bytes.
 * Counts are raw en_port_cycles() deltas: cycles, or SysTick ticks under QEMU (host scales).
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "edgenas/port.h"
#include "edgenas/profile.h"
#include "kit.h"
#include "model.h"

#define EN_LINK_VERSION 2u
#define EN_LINK_MAGIC0 0xE5u
#define EN_LINK_MAGIC1 0x4Eu
#define EN_LINK_HDR 7u /* magic, type, seq, length, header check */
#define EN_LINK_CHUNK 512u
#define EN_LINK_MAX_RX (4u + EN_LINK_CHUNK)
/* Quiet-line waits, in counter time. A frame arrives as one burst, so a 5 ms pause inside one is
 * a loss, and 3 ms of quiet after garbage means nothing more is coming. (Under QEMU -icount the
 * counter runs on guest instructions and these last tens of real ms; the host's own timeouts,
 * learned from round trips, are then the faster path, which is fine.) */
#define EN_LINK_BYTE_TIMEOUT_MS 5u
#define EN_LINK_NACK_MS 3u
#define EN_LINK_PAD 0x00u

enum {
    EN_T_HELLO = 0x01,
    EN_T_LOAD_INPUT = 0x02,
    EN_T_INVOKE = 0x03,
    EN_T_READ_RESULT = 0x04,
    EN_T_HELLO_REPLY = 0x81,
    EN_T_ACK = 0x82,
    EN_T_DONE = 0x83,
    EN_T_STARTED = 0x84,
    EN_T_RESULT_DATA = 0x85,
    EN_T_ERROR = 0x7F,
};

enum {
    EN_E_BAD_CRC = 1,
    EN_E_BAD_LENGTH = 2,
    EN_E_UNKNOWN_TYPE = 3,
    EN_E_BAD_RANGE = 4,
    EN_E_INPUT_CRC = 5,
    EN_E_MODEL = 6,
    EN_E_ARENA_OVERRUN = 7, /* side 0: above the arena, 1: below; detail: bytes reached */
    EN_E_NO_RESULT = 8,
};

/* The stored result: words (status .. output_len) then the output tensor. */
#define EN_RESULT_WORDS (6u + EN_MODEL_NUM_LAYERS)
#define EN_RESULT_BYTES (4u * EN_RESULT_WORDS + EN_MODEL_OUTPUT_BYTES)
typedef char en_result_fits_frame[(EN_RESULT_BYTES + 4u <= 0xFFFFu) ? 1 : -1];

static uint32_t en_result_words[EN_RESULT_WORDS];
static uint32_t en_result_crc, en_result_id, en_result_input_crc;
static int en_result_valid;

static uint8_t en_input[EN_MODEL_INPUT_BYTES > 0 ? EN_MODEL_INPUT_BYTES : 1] __attribute__((aligned(16)));
static int8_t en_output[EN_MODEL_OUTPUT_BYTES > 0 ? EN_MODEL_OUTPUT_BYTES : 1] __attribute__((aligned(16)));
static uint8_t en_rx[EN_LINK_HDR + EN_LINK_MAX_RX + 4u];
static uint32_t en_rx_have;
static int en_rx_garbage; /* dropped bytes that were not pad since the last frame */

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

/* Low byte of the CRC-32 of type, seq and length: lets a receiver refuse a damaged header
 * (above all a damaged length) before waiting for the payload it claims. */
static uint8_t header_check(const uint8_t *hdr4)
{
    return (uint8_t)EN_CRC32_FINAL(en_crc32_update(EN_CRC32_INIT, hdr4, 4u));
}

static void tx_begin(uint8_t type, uint8_t seq, uint32_t length)
{
    uint8_t hdr[5] = {type, seq, (uint8_t)length, (uint8_t)(length >> 8), 0u};
    hdr[4] = header_check(hdr);
    en_port_putc(EN_LINK_MAGIC0);
    en_port_putc(EN_LINK_MAGIC1);
    en_tx_crc = EN_CRC32_INIT;
    tx_bytes(hdr, 5u);
}

static void tx_end(void)
{
    uint8_t b[4];
    put_u32(b, EN_CRC32_FINAL(en_tx_crc));
    for (uint32_t i = 0; i < 4u; ++i) {
        en_port_putc(b[i]);
    }
    en_port_putc(EN_LINK_PAD);
}

static void send_error_side(uint8_t seq, uint16_t code, uint16_t side, uint32_t detail)
{
    tx_begin(EN_T_ERROR, seq, 8u);
    tx_u32((uint32_t)code | ((uint32_t)side << 16));
    tx_u32(detail);
    tx_end();
}

static void send_error(uint8_t seq, uint16_t code, uint32_t detail)
{
    send_error_side(seq, code, 0u, detail);
}

/* ---- receive with resynchronisation ---- */

/* Drop the first buffered byte and slide to the next candidate magic byte. */
static void rx_resync(void)
{
    uint32_t i = 1u;
    en_rx_garbage |= en_rx[0] != EN_LINK_PAD;
    while (i < en_rx_have && en_rx[i] != EN_LINK_MAGIC0) {
        en_rx_garbage |= en_rx[i] != EN_LINK_PAD;
        ++i;
    }
    memmove(en_rx, en_rx + i, en_rx_have - i);
    en_rx_have -= i;
}

/* Wait for the first byte of a frame. After garbage (a request whose magic the line damaged, so
 * nothing else would answer it) a quiet line is answered with a BAD_CRC error: the host resends
 * at once instead of waiting out its timeout. */
static void rx_first(void)
{
    if (en_rx_have != 0u) {
        return;
    }
    if (en_rx_garbage) {
        const int c = en_port_getc(EN_LINK_NACK_MS);
        if (c >= 0) {
            en_rx[en_rx_have++] = (uint8_t)c; /* more is coming: judge when the line is quiet */
            return;
        }
        en_rx_garbage = 0;
        send_error(0u, EN_E_BAD_CRC, 0u);
    }
    en_rx[en_rx_have++] = (uint8_t)en_port_getc(0u);
}

/* Buffer at least n bytes of a frame already begun; gives up on a frame whose bytes stop arriving
 * (returns 0 and empties the buffer; the host's retry starts a fresh frame). */
static int rx_fill(uint32_t n)
{
    while (en_rx_have < n) {
        const int c = en_port_getc(en_rx_have ? EN_LINK_BYTE_TIMEOUT_MS : 0u);
        if (c < 0) {
            en_rx_have = 0u;
            en_rx_garbage = 1; /* a frame that stopped: answer the quiet line with an error */
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

/* Requests of a fixed size: a header that claims another length is corrupt. Rejecting it now,
 * rather than waiting for that many bytes, saves a noisy link the wait (the host's next frames
 * would otherwise be swallowed until the claimed length is filled). */
static int length_fits_type(uint8_t type, uint32_t length)
{
    switch (type) {
    case EN_T_HELLO:
        return length == 0u;
    case EN_T_INVOKE:
    case EN_T_READ_RESULT:
        return length == 8u;
    case EN_T_LOAD_INPUT:
        return length >= 4u;
    default:
        return 1;
    }
}

static void link_recv(en_frame *f)
{
    for (;;) {
        rx_first();
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
        if (header_check(en_rx + 2) != en_rx[6]) {
            send_error(en_rx[3], EN_E_BAD_CRC, 0u);
            rx_resync();
            continue;
        }
        const uint32_t length = (uint32_t)en_rx[4] | ((uint32_t)en_rx[5] << 8);
        if (length > EN_LINK_MAX_RX || !length_fits_type(en_rx[2], length)) {
            send_error(en_rx[3], EN_E_BAD_LENGTH, length);
            rx_resync();
            continue;
        }
        if (!rx_fill(EN_LINK_HDR + length + 4u)) {
            continue;
        }
        const uint32_t crc = EN_CRC32_FINAL(en_crc32_update(EN_CRC32_INIT, en_rx + 2, 5u + length));
        if (crc != get_u32(en_rx + EN_LINK_HDR + length)) {
            send_error(en_rx[3], EN_E_BAD_CRC, crc);
            rx_resync();
            continue;
        }
        en_rx_garbage = 0;
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
    tx_begin(EN_T_HELLO_REPLY, f->seq, 32u);
    tx_u32(EN_LINK_VERSION | (EN_LINK_MAX_RX << 16));
    tx_u32(EN_MODEL_INPUT_BYTES);
    tx_u32(EN_MODEL_OUTPUT_BYTES);
    tx_u32(EN_MODEL_NUM_LAYERS);
    tx_u32(en_port_counter_unit());
    tx_u32(EN_COUNTER_HZ);
    tx_u32((uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit));
    tx_u32(en_arena_size_bytes());
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

/* Byte i of the stored result (words little-endian, then the output). */
static uint8_t result_byte(uint32_t i)
{
    if (i < 4u * EN_RESULT_WORDS) {
        return (uint8_t)(en_result_words[i >> 2] >> (8u * (i & 3u)));
    }
    return (uint8_t)en_output[i - 4u * EN_RESULT_WORDS];
}

static void send_started(uint8_t seq, uint32_t id)
{
    tx_begin(EN_T_STARTED, seq, 4u);
    tx_u32(id);
    tx_end();
}

static void send_done(uint8_t seq, uint32_t id, uint32_t replayed)
{
    tx_begin(EN_T_DONE, seq, 16u);
    tx_u32(id);
    tx_u32(EN_RESULT_BYTES);
    tx_u32(en_result_crc);
    tx_u32(replayed);
    tx_end();
}

static void handle_invoke(const en_frame *f)
{
    if (f->length != 8u) {
        send_error(f->seq, EN_E_BAD_LENGTH, f->length);
        return;
    }
    const uint32_t have = EN_CRC32_FINAL(en_crc32_update(EN_CRC32_INIT, en_input, EN_MODEL_INPUT_BYTES));
    const uint32_t id = get_u32(f->payload + 4);
    if (have != get_u32(f->payload)) {
        send_error(f->seq, EN_E_INPUT_CRC, have);
        return;
    }
    /* STARTED tells the host its INVOKE arrived, so only a lost request is resent early; silence
     * after it is the inference running. */
    send_started(f->seq, id);
    if (en_result_valid && id == en_result_id && have == en_result_input_crc) {
        send_done(f->seq, id, 1u); /* a resent INVOKE: the host lost our reply */
        return;
    }
    en_result_valid = 0;
    en_arena_prepare();
    en_stack_paint();
    en_timer_restart();
    en_profile_reset();
    const uint32_t t0 = en_port_cycles();
    const int status = en_model_invoke((const int8_t *)en_input, en_output);
    const uint32_t total = en_port_cycles() - t0;
    const uint32_t stack_bytes = en_stack_high_water_bytes();
    /* Guards first: after an overrun the status, the counts and even the stack figure may be
     * garbage, and the run must fail whatever the model returned. */
    const uint32_t above = en_arena_overrun_above(), below = en_arena_overrun_below();
    if (above != 0u || below != 0u) {
        send_error_side(f->seq, EN_E_ARENA_OVERRUN, above != 0u ? 0u : 1u, above != 0u ? above : below);
        return;
    }
    if (status != 0) {
        send_error(f->seq, EN_E_MODEL, (uint32_t)status);
        return;
    }
    en_result_words[0] = 0u;
    en_result_words[1] = total;
    en_result_words[2] = stack_bytes;
    en_result_words[3] = en_arena_touched_bytes();
    en_result_words[4] = EN_MODEL_NUM_LAYERS;
    for (uint32_t i = 0; i < EN_MODEL_NUM_LAYERS; ++i) {
        (void)en_profile_layer_count(i, &en_result_words[5u + i]);
    }
    en_result_words[5u + EN_MODEL_NUM_LAYERS] = EN_MODEL_OUTPUT_BYTES;
    uint32_t crc = EN_CRC32_INIT;
    for (uint32_t i = 0; i < EN_RESULT_BYTES; ++i) {
        const uint8_t b = result_byte(i);
        crc = en_crc32_update(crc, &b, 1u);
    }
    en_result_crc = EN_CRC32_FINAL(crc);
    en_result_id = id;
    en_result_input_crc = have;
    en_result_valid = 1;
    send_done(f->seq, id, 0u);
}

static void handle_read_result(const en_frame *f)
{
    if (f->length != 8u) {
        send_error(f->seq, EN_E_BAD_LENGTH, f->length);
        return;
    }
    const uint32_t offset = get_u32(f->payload), n = get_u32(f->payload + 4);
    if (!en_result_valid) {
        send_error(f->seq, EN_E_NO_RESULT, 0u);
        return;
    }
    if (offset > EN_RESULT_BYTES || n > EN_RESULT_BYTES - offset) {
        send_error(f->seq, EN_E_BAD_RANGE, offset);
        return;
    }
    tx_begin(EN_T_RESULT_DATA, f->seq, 4u + n);
    tx_u32(offset);
    for (uint32_t i = 0; i < n; ++i) {
        const uint8_t b = result_byte(offset + i);
        tx_bytes(&b, 1u);
    }
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
        case EN_T_READ_RESULT:
            handle_read_result(&f);
            break;
        default:
            send_error(f.seq, EN_E_UNKNOWN_TYPE, f.type);
            break;
        }
        rx_consume(EN_LINK_HDR + f.length + 4u);
    }
}
