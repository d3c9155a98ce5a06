/*
 * overlay.c - the AugLy-style frame overlays of S2VS (transforms/overlay_text.py,
 * overlay_emoji.py) with FreeType instead of PIL: text in a random TrueType font
 * (Debian DejaVu / Liberation instead of AugLy's bundled fonts) and emoji from the
 * colour emoji font (Noto Color Emoji CBDT bitmaps instead of AugLy's PNGs).
 * The sampling follows the reference line by line; the pixel arithmetic copies PIL:
 * text is drawn into a transparent RGBA layer with fill_mask_L's alpha-aware mask
 * and alpha_composite'd; the emoji is resized with PIL's bilinear resampler on its
 * premultiplied pixels and pasted with alpha * opacity. Glyph metrics approximate
 * PIL's getsize (advance / ink box from the ascender line); not bit-exact with PIL.
 * Resources (font bytes, charsets) are read-only and shared; FreeType libraries and
 * faces live in the per-thread vs_aug_state (FreeType faces are not thread-safe).
 */
#include "augment/augment_internal.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <math.h>
#include <string.h>

typedef struct aug_font {
    char *path;
    unsigned char *data;
    size_t len;
    uint32_t *chars; /* codepoints the font maps (the text charset / emoji list) */
    int n_chars;
} aug_font;

struct vs_aug_resources {
    int n_fonts;
    aug_font *fonts;
    aug_font emoji; /* data NULL if not loaded */
};

static const char *const default_fonts[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
    NULL};

const char *const *vs_aug_default_fonts(void) { return default_fonts; }
const char *vs_aug_default_emoji_font(void) {
    return "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
}

static void font_clear(aug_font *f) {
    vs__free(f->path);
    vs__free(f->data);
    vs__free(f->chars);
    memset(f, 0, sizeof(*f));
}

static int keep_text_char(uint32_t cp) {
    if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return 0; /* controls, spaces */
    if (cp >= 0x2000 && cp <= 0x200F) return 0;                         /* spaces, zero-width */
    if (cp >= 0x2028 && cp <= 0x202F) return 0;
    if (cp >= 0xFFF0) return cp > 0xFFFF;
    return 1;
}

static int keep_emoji_char(uint32_t cp) {
    if (cp < 0xA9) return 0;                          /* digits, '#', '*', space: keycap bases */
    if (cp >= 0xFE00 && cp <= 0xFE0F) return 0;       /* variation selectors */
    if (cp == 0x200D || cp == 0x20E3) return 0;       /* joiner, keycap combiner */
    if (cp >= 0x1F3FB && cp <= 0x1F3FF) return 0;     /* skin-tone modifiers */
    if (cp >= 0xE0000) return 0;                      /* tags */
    return 1;
}

static vs_status font_load(aug_font *f, FT_Library lib, const char *path, int emoji) {
    vs_status st = vs__read_file(path, &f->data, &f->len);
    if (st != VS_OK) return st;
    f->path = vs__strdup(path);
    if (!f->path) return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    FT_Face face;
    if (FT_New_Memory_Face(lib, f->data, (FT_Long)f->len, 0, &face))
        return vs__err(VS_ERR_FORMAT, "%s: not a font FreeType can read", path);
    if (emoji && (!FT_HAS_COLOR(face) || face->num_fixed_sizes < 1)) {
        FT_Done_Face(face);
        return vs__err(VS_ERR_FORMAT, "%s: not a colour bitmap (CBDT) emoji font", path);
    }
    FT_UInt gi;
    int cap = 0;
    for (FT_ULong cp = FT_Get_First_Char(face, &gi); gi; cp = FT_Get_Next_Char(face, cp, &gi)) {
        if (!(emoji ? keep_emoji_char((uint32_t)cp) : keep_text_char((uint32_t)cp))) continue;
        if (f->n_chars == cap) {
            cap = cap ? cap * 2 : 256;
            uint32_t *nc = vs__realloc(f->chars, sizeof(uint32_t) * (size_t)cap);
            if (!nc) {
                FT_Done_Face(face);
                return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
            }
            f->chars = nc;
        }
        f->chars[f->n_chars++] = (uint32_t)cp;
    }
    FT_Done_Face(face);
    if (f->n_chars == 0) return vs__err(VS_ERR_FORMAT, "%s: the font maps no usable characters", path);
    return VS_OK;
}

vs_status vs_aug_resources_load(vs_aug_resources **out, const char *const *font_paths, int n_fonts,
                                const char *emoji_path) {
    if (!out) return vs__err(VS_ERR_INVALID_ARG, "vs_aug_resources_load: out is NULL");
    *out = NULL;
    if (!font_paths && n_fonts == 0) {
        font_paths = default_fonts;
        while (default_fonts[n_fonts]) n_fonts++;
    }
    if (n_fonts < 0) n_fonts = 0;
    vs_aug_resources *res = vs__calloc(1, sizeof(*res));
    if (!res) return vs__err(VS_ERR_NOMEM, "augment resources: out of memory");
    FT_Library lib = NULL;
    vs_status st = VS_OK;
    if (FT_Init_FreeType(&lib)) {
        st = vs__err(VS_ERR_INTERNAL, "FreeType could not be initialised");
        goto fail;
    }
    if (n_fonts > 0) {
        res->fonts = vs__calloc((size_t)n_fonts, sizeof(aug_font));
        if (!res->fonts) {
            st = vs__err(VS_ERR_NOMEM, "augment resources: out of memory");
            goto fail;
        }
        res->n_fonts = n_fonts;
        for (int i = 0; i < n_fonts; i++)
            if ((st = font_load(&res->fonts[i], lib, font_paths[i], 0)) != VS_OK) goto fail;
    }
    if (emoji_path && (st = font_load(&res->emoji, lib, emoji_path, 1)) != VS_OK) goto fail;
    FT_Done_FreeType(lib);
    *out = res;
    return VS_OK;
fail:
    if (lib) FT_Done_FreeType(lib);
    vs_aug_resources_free(res);
    return st;
}

void vs_aug_resources_free(vs_aug_resources *res) {
    if (!res) return;
    for (int i = 0; i < res->n_fonts; i++) font_clear(&res->fonts[i]);
    vs__free(res->fonts);
    font_clear(&res->emoji);
    vs__free(res);
}

int vs_aug_resources_n_fonts(const vs_aug_resources *res) { return res ? res->n_fonts : 0; }
int vs_aug_resources_n_emoji(const vs_aug_resources *res) { return res ? res->emoji.n_chars : 0; }

/* ---- per-state FreeType ---------------------------------------------------------- */

void vs__aug_state_ft_free(vs_aug_state *st);
void vs__aug_state_ft_free(vs_aug_state *st) {
    if (st->faces) {
        int n = st->res ? st->res->n_fonts : 0;
        for (int i = 0; i < n; i++)
            if (st->faces[i]) FT_Done_Face((FT_Face)st->faces[i]);
        vs__free(st->faces);
        st->faces = NULL;
    }
    if (st->emoji_face) FT_Done_Face((FT_Face)st->emoji_face);
    st->emoji_face = NULL;
    if (st->ft) FT_Done_FreeType((FT_Library)st->ft);
    st->ft = NULL;
}

static vs_status state_lib(vs_aug_state *st) {
    if (st->ft) return VS_OK;
    FT_Library lib;
    if (FT_Init_FreeType(&lib)) return vs__err(VS_ERR_INTERNAL, "FreeType could not be initialised");
    st->ft = lib;
    return VS_OK;
}

static vs_status state_face(vs_aug_state *st, int i, FT_Face *out) {
    vs_status s = state_lib(st);
    if (s != VS_OK) return s;
    if (!st->faces) {
        st->faces = vs__calloc((size_t)st->res->n_fonts, sizeof(void *));
        if (!st->faces) return vs__err(VS_ERR_NOMEM, "text overlay: out of memory");
    }
    if (!st->faces[i]) {
        const aug_font *f = &st->res->fonts[i];
        FT_Face face;
        if (FT_New_Memory_Face((FT_Library)st->ft, f->data, (FT_Long)f->len, 0, &face))
            return vs__err(VS_ERR_FORMAT, "%s: FreeType cannot open the font", f->path);
        st->faces[i] = face;
    }
    *out = (FT_Face)st->faces[i];
    return VS_OK;
}

/* ---- text ------------------------------------------------------------------------------ */

#define DIV255(v) ((((v) + 128) + (((v) + 128) >> 8)) >> 8)
static inline uint8_t pil_blend(unsigned mask, unsigned in1, unsigned in2) {
    unsigned v = in1 * (255 - mask) + in2 * mask;
    return (uint8_t)DIV255(v);
}

/* alpha_composite(dst opaque RGB, src RGBA) of PIL's AlphaComposite.c with dst a = 255 */
static inline uint8_t pil_over(unsigned src, unsigned sa, unsigned dst) {
    const unsigned PB = 7;
    unsigned outa255 = sa * 255 + 255 * (255 - sa);
    unsigned coef1 = sa * 255 * 255 * (1u << PB) / outa255;
    unsigned coef2 = 255 * (1u << PB) - coef1;
    unsigned tmp = src * coef1 + dst * coef2 + (0x80u << PB);
    return (uint8_t)((((tmp >> 8) + tmp) >> 8) >> PB);
}

typedef struct text_metrics {
    int w, h; /* getsize-like width and height (pixels) */
} text_metrics;

/* Lay out chars[0..n) with kerning; if mask != NULL render coverage into mask
 * [mh,mw] (max where glyphs overlap) with the text's top-left at (0,0). Returns the
 * size of the prefix of length `n`, and in *fit_len the longest prefix (<= n) whose
 * size fits w_lim x h_lim (measure mode). */
static vs_status text_layout(FT_Face face, const uint32_t *chars, int n, int w_lim, int h_lim,
                             int *fit_len, text_metrics *m, uint8_t *mask, int mw, int mh) {
    const int asc = (int)(face->size->metrics.ascender >> 6);
    long pen = 0; /* 26.6 */
    int right = 0, bottom = asc;
    FT_UInt prev = 0;
    if (fit_len) *fit_len = 0;
    for (int i = 0; i < n; i++) {
        FT_UInt gi = FT_Get_Char_Index(face, chars[i]);
        if (prev && gi && FT_HAS_KERNING(face)) {
            FT_Vector k;
            if (!FT_Get_Kerning(face, prev, gi, FT_KERNING_DEFAULT, &k)) pen += k.x;
        }
        if (FT_Load_Glyph(face, gi, FT_LOAD_DEFAULT | (mask ? FT_LOAD_RENDER : 0)))
            return vs__err(VS_ERR_FORMAT, "text overlay: glyph U+%04X cannot be loaded", chars[i]);
        FT_GlyphSlot g = face->glyph;
        int px = (int)(pen >> 6);
        int ink_r, ink_b;
        if (mask) {
            ink_r = px + g->bitmap_left + (int)g->bitmap.width;
            ink_b = asc - g->bitmap_top + (int)g->bitmap.rows;
            for (int y = 0; y < (int)g->bitmap.rows; y++) {
                int yy = asc - g->bitmap_top + y;
                if (yy < 0 || yy >= mh) continue;
                const uint8_t *src = g->bitmap.buffer + (long)y * g->bitmap.pitch;
                for (int x = 0; x < (int)g->bitmap.width; x++) {
                    int xx = px + g->bitmap_left + x;
                    if (xx < 0 || xx >= mw) continue;
                    uint8_t *d = mask + (size_t)yy * mw + xx;
                    if (src[x] > *d) *d = src[x];
                }
            }
        } else {
            ink_r = px + (int)((g->metrics.horiBearingX + g->metrics.width + 63) >> 6);
            ink_b = asc + (int)((g->metrics.height - g->metrics.horiBearingY + 63) >> 6);
        }
        pen += g->advance.x;
        prev = gi;
        int adv_r = (int)((pen + 63) >> 6);
        if (adv_r > right) right = adv_r;
        if (ink_r > right) right = ink_r;
        if (ink_b > bottom) bottom = ink_b;
        if (fit_len) {
            if (right > w_lim || bottom > h_lim) break;
            *fit_len = i + 1;
        }
        if (m) {
            m->w = right;
            m->h = bottom;
        }
    }
    return VS_OK;
}

vs_status vs_aug_text_overlay(vs_aug_state *st, uint8_t *img, int H, int W, vs_aug_rng *r) {
    if (!st || !img || !r || H < 1 || W < 1)
        return vs__err(VS_ERR_INVALID_ARG, "text overlay: bad arguments");
    if (!st->res || st->res->n_fonts < 1)
        return vs__err(VS_ERR_INVALID_ARG, "text overlay: no fonts loaded (see vs_aug_resources_load)");
    int fi = vs_aug_rng_below(r, st->res->n_fonts);
    const aug_font *font = &st->res->fonts[fi];
    double frac = 0.2 + 0.3 * vs_aug_rng_uniform(r);
    int size = (int)((H < W ? H : W) * frac);
    enum { LEN = 100 };
    uint32_t chars[LEN];
    for (int i = 0; i < LEN; i++) chars[i] = font->chars[vs_aug_rng_below(r, font->n_chars)];
    if (size < 1) return VS_OK;
    FT_Face face = NULL;
    vs_status s = state_face(st, fi, &face);
    if (s != VS_OK) return s;
    if (FT_Set_Pixel_Sizes(face, 0, (FT_UInt)size))
        return vs__err(VS_ERR_FORMAT, "%s: cannot set size %d", font->path, size);
    /* maxlen: for i in 1..99, the first prefix that does not fit gives i-1; if every
     * prefix up to 99 fits, the reference leaves maxlen 0 and draws nothing */
    int fit;
    if ((s = text_layout(face, chars, LEN - 1, W, H, &fit, NULL, NULL, 0, 0)) != VS_OK) return s;
    int maxlen = fit < LEN - 1 ? fit : 0;
    if (maxlen == 0) return VS_OK;
    int len = 1 + vs_aug_rng_below(r, maxlen); /* random.randint(1, maxlen) */
    text_metrics tm = {0, 0};
    if ((s = text_layout(face, chars, len, W, H, NULL, &tm, NULL, 0, 0)) != VS_OK) return s;
    double fx = vs_aug_rng_uniform(r), fy = vs_aug_rng_uniform(r);
    int x0 = (int)(fx * (W - tm.w)), y0 = (int)(fy * (H - tm.h));
    double opacity = 0.7 + 0.3 * vs_aug_rng_uniform(r);
    unsigned alpha = (unsigned)(int)(opacity * 255 + 0.5);
    unsigned col[3];
    for (int c = 0; c < 3; c++) col[c] = (unsigned)vs_aug_rng_below(r, 256);
    /* coverage mask of the text box (glyph ink may reach past getsize; clip to frame) */
    int mw = W - x0, mh = H - y0;
    uint8_t *mask = vs__calloc((size_t)mw * mh, 1);
    if (!mask) return vs__err(VS_ERR_NOMEM, "text overlay: out of memory");
    if ((s = text_layout(face, chars, len, W, H, NULL, NULL, mask, mw, mh)) != VS_OK) {
        vs__free(mask);
        return s;
    }
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x++) {
            unsigned m = mask[(size_t)y * mw + x];
            if (!m) continue;
            /* layer pixel: (255,255,255,0) filled with ink (col, alpha) through the mask,
             * RGB with PIL's alpha-aware mask, A with the plain mask */
            unsigned mrgb = 255 - (255 - m) * (255 - alpha) / 255;
            unsigned la = pil_blend(m, 0, alpha);
            uint8_t *p = img + ((size_t)(y0 + y) * W + (x0 + x)) * 3;
            for (int c = 0; c < 3; c++) p[c] = pil_over(pil_blend(mrgb, 255, col[c]), la, p[c]);
        }
    vs__free(mask);
    return VS_OK;
}

/* ---- emoji --------------------------------------------------------------------------------- */

/* PIL ImagingResample (bilinear, support 1) coefficients in PIL's fixed point. */
#define PIL_PREC 22
static int pil_coeffs(int out_size, int in_size, int *bounds, int *kk, int ksize) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale, ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) xmax = ksize;
        double k[64];
        for (int x = 0; x < xmax; x++) {
            double t = fabs((x + xmin - center + 0.5) * ss);
            double w = t < 1.0 ? 1.0 - t : 0.0;
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < ksize; x++) {
            double w = x < xmax ? (ww != 0.0 ? k[x] / ww : 0.0) : 0.0;
            kk[xx * ksize + x] = (int)(w < 0 ? w * (1 << PIL_PREC) - 0.5 : w * (1 << PIL_PREC) + 0.5);
        }
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    return ksize;
}

static inline uint8_t clip8(long v) {
    v >>= PIL_PREC;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* PIL resize of a 4-channel image (horizontal pass, then vertical), uint8 between. */
static vs_status pil_resize4(uint8_t *out, int ow, int oh, const uint8_t *in, int iw, int ih) {
    int kx = (int)ceil((iw > ow ? (double)iw / ow : 1.0)) * 2 + 1;
    int ky = (int)ceil((ih > oh ? (double)ih / oh : 1.0)) * 2 + 1;
    if (kx > 64 || ky > 64) return vs__err(VS_ERR_INVALID_ARG, "emoji resize: scale too small");
    size_t bytes = sizeof(int) * (size_t)(2 * ow + ow * kx + 2 * oh + oh * ky) + (size_t)ow * ih * 4;
    char *buf = vs__malloc(bytes);
    if (!buf) return vs__err(VS_ERR_NOMEM, "emoji resize: out of memory");
    int *bx = (int *)buf, *kkx = bx + 2 * ow, *by = kkx + ow * kx, *kky = by + 2 * oh;
    uint8_t *tmp = (uint8_t *)(kky + oh * ky);
    pil_coeffs(ow, iw, bx, kkx, kx);
    pil_coeffs(oh, ih, by, kky, ky);
    for (int y = 0; y < ih; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 4; c++) {
                long ss = 1L << (PIL_PREC - 1);
                for (int k = 0; k < bx[2 * x + 1]; k++)
                    ss += (long)in[((size_t)y * iw + bx[2 * x] + k) * 4 + c] * kkx[x * kx + k];
                tmp[((size_t)y * ow + x) * 4 + c] = clip8(ss);
            }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 4; c++) {
                long ss = 1L << (PIL_PREC - 1);
                for (int k = 0; k < by[2 * y + 1]; k++)
                    ss += (long)tmp[((size_t)(by[2 * y] + k) * ow + x) * 4 + c] * kky[y * ky + k];
                out[((size_t)y * ow + x) * 4 + c] = clip8(ss);
            }
    vs__free(buf);
    return VS_OK;
}

vs_status vs_aug_emoji_overlay(vs_aug_state *st, uint8_t *img, int H, int W, vs_aug_rng *r) {
    if (!st || !img || !r || H < 1 || W < 1)
        return vs__err(VS_ERR_INVALID_ARG, "emoji overlay: bad arguments");
    if (!st->res || st->res->emoji.n_chars < 1)
        return vs__err(VS_ERR_INVALID_ARG, "emoji overlay: no emoji font loaded (see vs_aug_resources_load)");
    const aug_font *ef = &st->res->emoji;
    uint32_t cp = ef->chars[vs_aug_rng_below(r, ef->n_chars)];
    double frac = 0.2 + 0.3 * vs_aug_rng_uniform(r);
    double fx = vs_aug_rng_uniform(r), fy = vs_aug_rng_uniform(r);
    double opacity = 0.7 + 0.3 * vs_aug_rng_uniform(r);
    vs_status s = state_lib(st);
    if (s != VS_OK) return s;
    if (!st->emoji_face) {
        FT_Face face;
        if (FT_New_Memory_Face((FT_Library)st->ft, ef->data, (FT_Long)ef->len, 0, &face))
            return vs__err(VS_ERR_FORMAT, "%s: FreeType cannot open the font", ef->path);
        st->emoji_face = face;
        if (FT_Select_Size(face, 0)) return vs__err(VS_ERR_FORMAT, "%s: no bitmap strike", ef->path);
    }
    FT_Face face = (FT_Face)st->emoji_face;
    FT_UInt gi = FT_Get_Char_Index(face, cp);
    if (FT_Load_Glyph(face, gi, FT_LOAD_COLOR | FT_LOAD_RENDER))
        return vs__err(VS_ERR_FORMAT, "%s: emoji U+%04X cannot be rendered", ef->path, cp);
    FT_Bitmap *bm = &face->glyph->bitmap;
    if (bm->pixel_mode != FT_PIXEL_MODE_BGRA || bm->width == 0 || bm->rows == 0)
        return VS_OK; /* nothing visible (an empty glyph): no overlay */
    const int ew = (int)bm->width, eh = (int)bm->rows;
    double max_scale = fmin((double)W / ew, (double)H / eh);
    double scale = max_scale * frac;
    int nw = (int)(ew * scale), nh = (int)(eh * scale);
    if (nw < 1 || nh < 1) return VS_OK;
    /* premultiplied BGRA -> premultiplied RGBa (what PIL resizes an RGBA image in) */
    size_t sbytes = (size_t)ew * eh * 4, dbytes = (size_t)nw * nh * 4;
    uint8_t *src = vs__malloc(sbytes + dbytes);
    if (!src) return vs__err(VS_ERR_NOMEM, "emoji overlay: out of memory");
    uint8_t *dst = src + sbytes;
    for (int y = 0; y < eh; y++) {
        const uint8_t *row = bm->buffer + (long)y * bm->pitch;
        for (int x = 0; x < ew; x++) {
            uint8_t *o = src + ((size_t)y * ew + x) * 4;
            o[0] = row[x * 4 + 2];
            o[1] = row[x * 4 + 1];
            o[2] = row[x * 4 + 0];
            o[3] = row[x * 4 + 3];
        }
    }
    if ((s = pil_resize4(dst, nw, nh, src, ew, eh)) != VS_OK) {
        vs__free(src);
        return s;
    }
    int x0 = (int)(fx * (W - nw)), y0 = (int)(fy * (H - nh));
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            const uint8_t *e = dst + ((size_t)y * nw + x) * 4;
            unsigned a = e[3];
            if (!a) continue;
            unsigned mask = (unsigned)(a * opacity); /* (alpha * opacity).astype(uint8) */
            uint8_t *p = img + ((size_t)(y0 + y) * W + (x0 + x)) * 3;
            for (int c = 0; c < 3; c++) {
                /* RGBa -> RGBA (PIL rgba2rgbA), then paste with the mask */
                unsigned v = a == 255 ? e[c] : (255u * e[c]) / a;
                if (v > 255) v = 255;
                p[c] = pil_blend(mask, p[c], v);
            }
        }
    vs__free(src);
    return VS_OK;
}
