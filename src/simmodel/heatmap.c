/*
 * heatmap.c - write a similarity matrix (f2f map, comparator map) as a colour PNG for
 * visual inspection, with libpng. Viridis-like colour map from 9 control points,
 * linear interpolation; values are clamped to [vmin, vmax]; NaN is grey. Each cell
 * becomes a square of `cell` pixels so that small maps stay visible.
 */
#include "simmodel/simmodel_internal.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

static const unsigned char VIRIDIS[9][3] = {
    {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
    {39, 173, 129}, {92, 200, 99},  {170, 220, 50}, {253, 231, 37},
};

static void colour(unsigned char *rgb, float v, float vmin, float vmax) {
    if (isnan(v)) {
        rgb[0] = rgb[1] = rgb[2] = 128;
        return;
    }
    float t = vmax > vmin ? (v - vmin) / (vmax - vmin) : 0.5f;
    t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    float f = t * 8.0f;
    int k = (int)f;
    if (k > 7) k = 7;
    float u = f - (float)k;
    for (int c = 0; c < 3; c++)
        rgb[c] = (unsigned char)lrintf((1.0f - u) * VIRIDIS[k][c] + u * VIRIDIS[k + 1][c]);
}

/* 1 if pixel (x, y) lies on the outline of one of the boxes (cells, inclusive),
 * drawn `w` pixels wide just inside the box's edge. */
static int on_box(const int *boxes, int n, int x, int y, int cell, int w) {
    for (int k = 0; k < n; k++) {
        const int *b = boxes + 4 * k;
        int x0 = b[1] * cell, x1 = (b[3] + 1) * cell - 1, y0 = b[0] * cell, y1 = (b[2] + 1) * cell - 1;
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        if (x < x0 + w || x > x1 - w || y < y0 + w || y > y1 - w) return 1;
    }
    return 0;
}

vs_status vs_heatmap_write_png(const char *path, const float *matrix, int rows, int cols,
                               float vmin, float vmax) {
    return vs_heatmap_write_png_boxes(path, matrix, rows, cols, vmin, vmax, NULL, 0);
}

vs_status vs_heatmap_write_png_boxes(const char *path, const float *matrix, int rows, int cols,
                                     float vmin, float vmax, const int *boxes, int n_boxes) {
    if (n_boxes < 0 || (n_boxes > 0 && !boxes))
        return vs__err(VS_ERR_INVALID_ARG, "%s: bad box list (%d boxes)", path, n_boxes);
    if (rows < 1 || cols < 1 || !matrix)
        return vs__err(VS_ERR_INVALID_ARG, "%s: heatmap of %dx%d cells", path, rows, cols);
    int big = rows > cols ? rows : cols;
    int cell = big >= 512 ? 1 : 512 / big;
    if (cell > 16) cell = 16;
    if ((long)rows * cell > 1000000L || (long)cols * cell > 1000000L)
        return vs__err(VS_ERR_INVALID_ARG, "%s: heatmap of %dx%d cells is too large", path, rows, cols);
    const int W = cols * cell, H = rows * cell;
    vs__afile af;
    vs_status st = vs__afile_open(&af, path);
    if (st != VS_OK) return st;
    unsigned char *row = vs__malloc((size_t)W * 3 * 2);
    if (!row) {
        vs__afile_abort(&af);
        return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        vs__free(row);
        vs__afile_abort(&af);
        return vs__err(VS_ERR_NOMEM, "%s: libpng could not start", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        vs__free(row);
        vs__afile_abort(&af);
        return vs__err(VS_ERR_IO, "%s: libpng failed while writing", path);
    }
    png_init_io(png, af.f);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const int bw = cell >= 8 ? 2 : 1; /* outline width, pixels */
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            unsigned char rgb[3];
            colour(rgb, matrix[(long)r * cols + c], vmin, vmax);
            for (int k = 0; k < cell; k++) memcpy(row + ((size_t)c * cell + k) * 3, rgb, 3);
        }
        for (int k = 0; k < cell; k++) {
            if (n_boxes == 0) {
                png_write_row(png, row);
                continue;
            }
            /* segment outlines in red over a copy of the row */
            unsigned char *out = row + (size_t)W * 3;
            memcpy(out, row, (size_t)W * 3);
            for (int x = 0; x < W; x++)
                if (on_box(boxes, n_boxes, x, r * cell + k, cell, bw)) {
                    out[3 * x] = 255;
                    out[3 * x + 1] = 0;
                    out[3 * x + 2] = 0;
                }
            png_write_row(png, out);
        }
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    vs__free(row);
    return vs__afile_commit(&af);
}
