/*
 * gop.c - reads just enough of a compressed packet to tell whether it starts a closed
 * GOP and whether dropping it unseen can change anything but its own picture, for the
 * packet dropping before a keyframe in decode.c (vs_decode_params.skip_closed_gop).
 *
 * Only H.264 is understood (AVCC length-prefixed NAL units as in MP4/MKV, or Annex B
 * start codes as in MPEG-TS/AVI). A packet starts a closed GOP when it holds an IDR slice
 * (nal_unit_type 5): an IDR marks every reference picture unused (H.264 8.2.5.1), so no
 * picture after it in decoding order can predict from one before it. A packet is
 * droppable when all its NAL units are non-IDR slices (1), access unit delimiters (9) or
 * filler (12): no parameter sets, no SEI (which could carry the encoder's version string
 * the decoder uses for bug workarounds, or a recovery point), no data partitions. Every
 * other codec, and any packet whose NAL framing does not parse exactly to its end, is
 * neither (when in doubt, nothing is dropped). It does not decode slice headers.
 */
#include "decode_internal.h"

#include <libavcodec/avcodec.h>

/* From the stream's codec parameters: which framing to read, if any. */
void vs__gop_init(vs__gop *g, int codec_id, const uint8_t *extradata, int extradata_size) {
    g->mode = VS__GOP_NONE;
    g->nal_len = 0;
    if (codec_id != AV_CODEC_ID_H264) return;
    if (extradata && extradata_size >= 7 && extradata[0] == 1) {
        g->mode = VS__GOP_H264_AVCC; /* avcC record: lengthSizeMinusOne in byte 4 */
        g->nal_len = (extradata[4] & 3) + 1;
        if (g->nal_len == 3) g->mode = VS__GOP_NONE; /* not allowed by ISO 14496-15 */
    } else {
        g->mode = VS__GOP_H264_ANNEXB;
    }
}

/* Folds one NAL unit header byte into the flags; returns 0 when the byte is not a valid
 * NAL header (forbidden_zero_bit set). */
static int nal_flags(uint8_t hdr, int *idr, int *other) {
    if (hdr & 0x80) return 0;
    int type = hdr & 0x1f;
    if (type == 5) *idr = 1;
    else if (type != 1 && type != 9 && type != 12) *other = 1;
    return 1;
}

/* Walks the NAL units of pkt: VS__GOP_KEY if one is an IDR slice, VS__GOP_DROPPABLE if
 * every one is a non-IDR slice, delimiter or filler; 0 when unsure. */
int vs__gop_packet(const vs__gop *g, const uint8_t *data, int size) {
    int idr = 0, other = 0, n = 0;
    if (g->mode == VS__GOP_NONE || !data || size <= 0) return 0;
    if (g->mode == VS__GOP_H264_AVCC) {
        int pos = 0;
        while (pos < size) {
            if (size - pos < g->nal_len) return 0;
            uint32_t len = 0;
            for (int i = 0; i < g->nal_len; i++) len = len << 8 | data[pos + i];
            pos += g->nal_len;
            if (len == 0 || len > (uint32_t)(size - pos)) return 0;
            if (!nal_flags(data[pos], &idr, &other)) return 0;
            pos += (int)len;
            n++;
        }
    } else {
        /* Annex B: a NAL unit follows each 00 00 01 (a 4-byte start code ends the same way). */
        for (int i = 0; i + 3 < size; i++) {
            if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
                if (!nal_flags(data[i + 3], &idr, &other)) return 0;
                n++;
                i += 2;
            }
        }
    }
    if (n == 0) return 0;
    if (idr) return VS__GOP_KEY;
    return other ? 0 : VS__GOP_DROPPABLE;
}
