/*
 * graph.c - load a backbone VSTF (scripts/convert_nsfwjs.mjs): parse its "graph"
 * metadata (one Keras layer per line: `name Class in1,in2|- key=value...`), fuse
 * Conv2D/DepthwiseConv2D + BatchNormalization + ReLU/ReLU6 into one node with BN
 * folded into the weights and a bias (double precision), fold ZeroPadding2D into the
 * following 'valid' conv, check every tensor's dtype and shape, and infer shapes for
 * any input size. The file is untrusted: every count, name and shape is checked and
 * every failure names the file.
 * Not here: layers other than those InceptionV3 / MobileNetV2 use up to their frozen
 * cut (Input, Conv2D, DepthwiseConv2D, BatchNormalization, Activation relu/linear,
 * ReLU, ZeroPadding2D, MaxPooling2D, AveragePooling2D, Concatenate, Add); dilation.
 */
#include "bb_internal.h"
#include "core/tensorfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 4096
#define MAX_KV 12

static const char *const IV3_TAPS[] = {"mixed0", "mixed1", "mixed2", "mixed3",
                                       "mixed4", "mixed5", NULL};
static const char *const MNV2_TAPS[] = {
    "expanded_conv_project_BN", "block_1_project_BN", "block_2_add", "block_3_project_BN",
    "block_4_add", "block_5_add", "block_6_project_BN", "block_7_add", "block_8_add",
    "block_9_add", "block_10_expand_relu", "block_10_depthwise_relu", "block_10_project_BN",
    NULL};

/* One Keras layer line, tokens pointing into a private copy of the graph text. */
typedef struct {
    char *name, *cls, *ins;
    int n_kv;
    char *k[MAX_KV], *v[MAX_KV];
    int n_in, in[BB_MAX_IN];  /* layer indices */
    int n_consumers;
    int node;                 /* fused node producing this layer's value, -1 none */
    int zp[4], is_zp;         /* ZeroPadding2D */
} klayer;

/* Per-node load-time info: source tensors to fold. */
typedef struct {
    const vs__tensor *kernel, *bias, *gamma, *beta, *mean, *var;
    double eps;
} nsrc;

int vs__bb_same_pad(int *before, int *after, int in, int k, int s) {
    int out = (in + s - 1) / s;
    int total = (out - 1) * s + k - in;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - total / 2;
    return out;
}

static const char *kv(const klayer *L, const char *key) {
    for (int i = 0; i < L->n_kv; i++)
        if (strcmp(L->k[i], key) == 0) return L->v[i];
    return NULL;
}

/* Parse "a,b" (n ints) into out; returns 1 on success. */
static int ints(int *out, int n, const char *s) {
    if (!s) return 0;
    for (int i = 0; i < n; i++) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 100000) return 0;
        out[i] = (int)v;
        s = end;
        if (i + 1 < n) {
            if (*s != ',') return 0;
            s++;
        }
    }
    return *s == 0;
}

static int find_layer(const klayer *Ls, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(Ls[i].name, name) == 0) return i;
    return -1;
}

/* Split text into layer records (in place). */
static vs_status parse_lines(klayer *Ls, int *n_out, char *text, const char *path) {
    int n = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (n == MAX_LAYERS) return vs__err(VS_ERR_FORMAT, "%s: graph has too many layers", path);
        klayer *L = &Ls[n];
        memset(L, 0, sizeof *L);
        L->node = -1;
        char *save = NULL, *tok;
        int t = 0;
        for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), t++) {
            if (t == 0) L->name = tok;
            else if (t == 1) L->cls = tok;
            else if (t == 2) L->ins = tok;
            else {
                char *eq = strchr(tok, '=');
                if (!eq || L->n_kv == MAX_KV)
                    return vs__err(VS_ERR_FORMAT, "%s: graph line %d: bad field '%s'", path,
                                   n + 1, tok);
                *eq = 0;
                L->k[L->n_kv] = tok;
                L->v[L->n_kv++] = eq + 1;
            }
        }
        if (t < 3) return vs__err(VS_ERR_FORMAT, "%s: graph line %d is incomplete", path, n + 1);
        if (strcmp(L->ins, "-") != 0) {
            char *s2 = NULL;
            for (tok = strtok_r(L->ins, ",", &s2); tok; tok = strtok_r(NULL, ",", &s2)) {
                int j = find_layer(Ls, n, tok);
                if (j < 0 || L->n_in == BB_MAX_IN)
                    return vs__err(VS_ERR_FORMAT, "%s: layer '%s': input '%s' unknown or too many",
                                   path, L->name, tok);
                L->in[L->n_in++] = j;
                Ls[j].n_consumers++;
            }
        }
        n++;
        line = nl ? nl + 1 : NULL;
    }
    *n_out = n;
    return VS_OK;
}

/* Check an f32 tensor exists with the given rank/dims. */
static vs_status get_t(const vs__tf *tf, const char *name, int ndim, const int64_t *dims,
                       const vs__tensor **out) {
    if (!name) return vs__err(VS_ERR_FORMAT, "%s: graph names no weight tensor", vs__tf_path(tf));
    return vs__tf_get(tf, name, VS_DT_F32, ndim, dims, out);
}

static vs_status bn_tensors(nsrc *s, const vs__tf *tf, const klayer *L, int C) {
    char buf[512];
    int64_t d[1] = {C};
    vs_status st;
    const char *center = kv(L, "center"), *scale = kv(L, "scale"), *eps = kv(L, "eps");
    if (!center || !scale || !eps)
        return vs__err(VS_ERR_FORMAT, "%s: BN layer '%s' lacks center/scale/eps", vs__tf_path(tf),
                       L->name);
    s->eps = strtod(eps, NULL);
    if (!(s->eps >= 0 && s->eps < 1))
        return vs__err(VS_ERR_FORMAT, "%s: BN layer '%s': bad epsilon", vs__tf_path(tf), L->name);
    static const char *names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const vs__tensor **dst[4] = {&s->gamma, &s->beta, &s->mean, &s->var};
    for (int i = 0; i < 4; i++) {
        if (i == 0 && strcmp(scale, "1") != 0) continue;
        if (i == 1 && strcmp(center, "1") != 0) continue;
        snprintf(buf, sizeof buf, "%s/%s", L->name, names[i]);
        if ((st = get_t(tf, buf, 1, d, dst[i]))) return st;
    }
    return VS_OK;
}

/* Fold BN into W [K, C] and bias: s = gamma / sqrt(var + eps); W *= s; b = (b - mean)*s + beta. */
static void fold(float *w, float *b, const nsrc *s, long K, int C) {
    const float *kw = s->kernel->data;
    const float *bias = s->bias ? s->bias->data : NULL;
    for (int c = 0; c < C; c++) {
        double sc = 1.0, sh = bias ? bias[c] : 0.0;
        if (s->mean) {
            sc = (s->gamma ? ((const float *)s->gamma->data)[c] : 1.0) /
                 sqrt((double)((const float *)s->var->data)[c] + s->eps);
            sh = (sh - ((const float *)s->mean->data)[c]) * sc +
                 (s->beta ? ((const float *)s->beta->data)[c] : 0.0);
        }
        for (long k = 0; k < K; k++) w[k * C + c] = (float)(kw[k * C + c] * sc);
        b[c] = (float)sh;
    }
}

/* Build fused nodes from the layer list. */
static vs_status build(vs_backbone *bb, nsrc *src, klayer *Ls, int nl, const vs__tf *tf) {
    const char *path = vs__tf_path(tf);
    vs_status st;
    int nn = 0;
    for (int i = 0; i < nl; i++) {
        klayer *L = &Ls[i];
        const char *cls = L->cls;
        bb_node *nd = &bb->nodes[nn];
        if (strcmp(cls, "InputLayer") == 0) {
            int shp[3];
            if (i != 0 || L->n_in || !ints(shp, 3, kv(L, "shape")) || shp[0] != shp[1] || shp[2] != 3)
                return vs__err(VS_ERR_FORMAT, "%s: input layer must come first, square RGB", path);
            bb->native_size = shp[0];
            nd->op = BB_INPUT;
            nd->cout = 3;
            L->node = nn++;
        } else if (i == 0) {
            return vs__err(VS_ERR_FORMAT, "%s: graph does not start with an InputLayer", path);
        } else if (strcmp(cls, "Conv2D") == 0 || strcmp(cls, "DepthwiseConv2D") == 0) {
            int dw = cls[0] == 'D', k[2], s[2], d[2];
            if (L->n_in != 1 || !ints(k, 2, kv(L, "k")) || !ints(s, 2, kv(L, "s")) ||
                !ints(d, 2, kv(L, "d")) || !kv(L, "pad") || !kv(L, "act") || k[0] < 1 ||
                k[1] < 1 || s[0] < 1 || s[1] < 1)
                return vs__err(VS_ERR_FORMAT, "%s: conv layer '%s': bad parameters", path, L->name);
            if (d[0] != 1 || d[1] != 1)
                return vs__err(VS_ERR_UNSUPPORTED, "%s: conv layer '%s': dilation not supported",
                               path, L->name);
            klayer *P = &Ls[L->in[0]];
            const char *pad = kv(L, "pad");
            nd->pad = strcmp(pad, "same") == 0 ? BB_PAD_SAME : BB_PAD_VALID;
            if (strcmp(pad, "same") != 0 && strcmp(pad, "valid") != 0)
                return vs__err(VS_ERR_FORMAT, "%s: layer '%s': padding '%s'", path, L->name, pad);
            if (P->is_zp) {
                if (nd->pad != BB_PAD_VALID)
                    return vs__err(VS_ERR_UNSUPPORTED, "%s: ZeroPadding2D before a 'same' conv",
                                   path);
                nd->pad = BB_PAD_TFSAME_ZP;
                memcpy(nd->zp, P->zp, sizeof nd->zp);
            }
            if (P->node < 0) return vs__err(VS_ERR_FORMAT, "%s: '%s' has no input", path, L->name);
            nd->op = dw ? BB_DWCONV : BB_CONV;
            nd->n_in = 1;
            nd->in[0] = P->node;
            nd->kh = k[0], nd->kw = k[1], nd->sh = s[0], nd->sw = s[1];
            nd->cin = bb->nodes[P->node].cout;
            const char *act = kv(L, "act");
            nd->act = strcmp(act, "relu") == 0 ? BB_ACT_RELU : BB_ACT_NONE;
            if (nd->act == BB_ACT_NONE && strcmp(act, "linear") != 0)
                return vs__err(VS_ERR_UNSUPPORTED, "%s: '%s': activation '%s'", path, L->name, act);
            int64_t kd[4] = {k[0], k[1], nd->cin, dw ? 1 : -1};
            if ((st = get_t(tf, kv(L, "w"), 4, kd, &src[nn].kernel))) return st;
            if (dw && (!kv(L, "mult") || strcmp(kv(L, "mult"), "1") != 0))
                return vs__err(VS_ERR_UNSUPPORTED, "%s: '%s': depth multiplier != 1", path, L->name);
            nd->cout = dw ? nd->cin : (int)src[nn].kernel->dims[3];
            if (kv(L, "b")) {
                int64_t bd[1] = {nd->cout};
                if ((st = get_t(tf, kv(L, "b"), 1, bd, &src[nn].bias))) return st;
            }
            L->node = nn++;
        } else if (strcmp(cls, "BatchNormalization") == 0 || strcmp(cls, "Activation") == 0 ||
                   strcmp(cls, "ReLU") == 0) {
            /* fused into the producing conv: it must be the conv's only reader */
            klayer *P = L->n_in == 1 ? &Ls[L->in[0]] : NULL;
            bb_node *pn = P && P->node >= 0 ? &bb->nodes[P->node] : NULL;
            int bn = cls[0] == 'B';
            int act = BB_ACT_NONE;
            if (!bn) {
                const char *fn = kv(L, "fn"), *mx = kv(L, "max");
                if (cls[0] == 'A' && fn && strcmp(fn, "relu") == 0) act = BB_ACT_RELU;
                else if (cls[0] == 'A' && fn && strcmp(fn, "linear") == 0) act = -1;
                else if (cls[0] == 'R' && mx && kv(L, "slope") && kv(L, "thr") &&
                         strtod(kv(L, "slope"), NULL) == 0 && strtod(kv(L, "thr"), NULL) == 0) {
                    if (strcmp(mx, "inf") == 0) act = BB_ACT_RELU;
                    else if (strtod(mx, NULL) == 6.0) act = BB_ACT_RELU6;
                }
                if (act == BB_ACT_NONE)
                    return vs__err(VS_ERR_UNSUPPORTED, "%s: activation layer '%s' not supported",
                                   path, L->name);
            }
            if (act == -1 && P && P->node >= 0) { /* linear: alias */
                L->node = P->node;
                continue;
            }
            int ok = pn && (pn->op == BB_CONV || pn->op == BB_DWCONV) && P->n_consumers == 1 &&
                     pn->act == BB_ACT_NONE && (!bn || !src[P->node].mean);
            if (!ok)
                return vs__err(VS_ERR_UNSUPPORTED,
                               "%s: layer '%s' cannot be fused into a preceding conv", path,
                               L->name);
            if (bn) {
                if ((st = bn_tensors(&src[P->node], tf, L, pn->cout))) return st;
            } else {
                pn->act = act;
            }
            L->node = P->node;
            vs__free(pn->name);
            pn->name = NULL; /* renamed below */
            continue;
        } else if (strcmp(cls, "ZeroPadding2D") == 0) {
            if (L->n_in != 1 || !ints(L->zp, 4, kv(L, "pads")) || Ls[L->in[0]].node < 0)
                return vs__err(VS_ERR_FORMAT, "%s: '%s': bad padding", path, L->name);
            for (int j = i + 1; j < nl; j++)
                for (int q = 0; q < Ls[j].n_in; q++)
                    if (Ls[j].in[q] == i && strcmp(Ls[j].cls, "Conv2D") != 0 &&
                        strcmp(Ls[j].cls, "DepthwiseConv2D") != 0)
                        return vs__err(VS_ERR_UNSUPPORTED,
                                       "%s: ZeroPadding2D '%s' not followed by a conv", path,
                                       L->name);
            L->is_zp = 1;
            L->node = -1;
            /* consumers read the padded layer's producer */
            L->node = Ls[L->in[0]].node;
            continue;
        } else if (strcmp(cls, "MaxPooling2D") == 0 || strcmp(cls, "AveragePooling2D") == 0) {
            int k[2], s[2];
            const char *pad = kv(L, "pad");
            if (L->n_in != 1 || !ints(k, 2, kv(L, "k")) || !ints(s, 2, kv(L, "s")) || !pad ||
                k[0] < 1 || k[1] < 1 || s[0] < 1 || s[1] < 1 || Ls[L->in[0]].is_zp ||
                (strcmp(pad, "same") != 0 && strcmp(pad, "valid") != 0))
                return vs__err(VS_ERR_FORMAT, "%s: pool layer '%s': bad parameters", path, L->name);
            nd->op = cls[0] == 'M' ? BB_MAXPOOL : BB_AVGPOOL;
            nd->pad = strcmp(pad, "same") == 0 ? BB_PAD_SAME : BB_PAD_VALID;
            nd->kh = k[0], nd->kw = k[1], nd->sh = s[0], nd->sw = s[1];
            nd->n_in = 1;
            nd->in[0] = Ls[L->in[0]].node;
            nd->cin = nd->cout = bb->nodes[nd->in[0]].cout;
            L->node = nn++;
        } else if (strcmp(cls, "Concatenate") == 0 || strcmp(cls, "Add") == 0) {
            if (L->n_in < 2)
                return vs__err(VS_ERR_FORMAT, "%s: '%s' needs two inputs", path, L->name);
            nd->op = cls[0] == 'C' ? BB_CONCAT : BB_ADD;
            nd->n_in = L->n_in;
            for (int q = 0; q < L->n_in; q++) {
                if (Ls[L->in[q]].is_zp)
                    return vs__err(VS_ERR_UNSUPPORTED, "%s: '%s' reads a ZeroPadding2D", path,
                                   L->name);
                nd->in[q] = Ls[L->in[q]].node;
                int c = bb->nodes[nd->in[q]].cout;
                if (nd->op == BB_CONCAT) nd->cout += c;
                else if (q && c != nd->cout)
                    return vs__err(VS_ERR_FORMAT, "%s: '%s' adds %d and %d channels", path,
                                   L->name, nd->cout, c);
                else nd->cout = c;
            }
            nd->cin = nd->cout;
            L->node = nn++;
        } else {
            return vs__err(VS_ERR_UNSUPPORTED, "%s: layer '%s' of class %s not supported", path,
                           L->name, cls);
        }
    }
    bb->n_nodes = nn;
    /* name each node after the last layer that maps to it; count consumers */
    for (int i = 0; i < nl; i++) {
        if (Ls[i].is_zp || Ls[i].node < 0) continue;
        bb_node *nd = &bb->nodes[Ls[i].node];
        vs__free(nd->name);
        if (!(nd->name = vs__strdup(Ls[i].name)))
            return vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < nn; i++)
        for (int q = 0; q < bb->nodes[i].n_in; q++) bb->nodes[bb->nodes[i].in[q]].n_consumers++;
    return VS_OK;
}

vs_status vs__bb_infer(bb_geom *g, const vs_backbone *bb, int S) {
    for (int i = 0; i < bb->n_nodes; i++) {
        const bb_node *nd = &bb->nodes[i];
        bb_geom *o = &g[i];
        memset(o, 0, sizeof *o);
        if (nd->op == BB_INPUT) {
            o->h = o->w = S;
            o->c = 3;
            continue;
        }
        const bb_geom *in = &g[nd->in[0]];
        o->c = nd->cout;
        switch (nd->op) {
        case BB_CONV: case BB_DWCONV: case BB_MAXPOOL: case BB_AVGPOOL:
            if (nd->pad == BB_PAD_VALID) {
                if (in->h < nd->kh || in->w < nd->kw) goto too_small;
                o->h = (in->h - nd->kh) / nd->sh + 1;
                o->w = (in->w - nd->kw) / nd->sw + 1;
            } else { /* 'same', and ZeroPadding2D + valid computed as TF 'same' per size */
                o->h = vs__bb_same_pad(&o->pt, &o->pb, in->h, nd->kh, nd->sh);
                o->w = vs__bb_same_pad(&o->pl, &o->pr, in->w, nd->kw, nd->sw);
            }
            break;
        case BB_CONCAT: case BB_ADD:
            *o = *in;
            o->c = nd->cout;
            for (int q = 1; q < nd->n_in; q++)
                if (g[nd->in[q]].h != in->h || g[nd->in[q]].w != in->w)
                    return vs__err(VS_ERR_INVALID_ARG,
                                   "%s: input size %d: '%s' joins maps of different sizes",
                                   bb->path, S, nd->name);
            break;
        }
        if (o->h < 1 || o->w < 1) goto too_small;
        continue;
    too_small:
        return vs__err(VS_ERR_INVALID_ARG, "%s: input size %d is too small for layer '%s'",
                       bb->path, S, nd->name);
    }
    return VS_OK;
}

void vs_backbone_free(vs_backbone *bb) {
    if (!bb) return;
    for (int i = 0; bb->nodes && i < bb->n_nodes; i++) vs__free(bb->nodes[i].name);
    vs__free(bb->nodes);
    vs__free_aligned(bb->params);
    vs__free(bb->tap_node);
    vs__free((void *)bb->taps);
    vs__free(bb->name);
    vs__free(bb->path);
    vs__free(bb);
}

/* Allocate the parameter block, fold, verify the ZeroPadding2D assumption, set taps. */
static vs_status finish(vs_backbone *bb, const nsrc *src) {
    size_t total = 0;
    for (int i = 0; i < bb->n_nodes; i++) {
        const bb_node *nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        size_t K = (size_t)nd->kh * nd->kw * (nd->op == BB_CONV ? nd->cin : 1);
        total += (K * nd->cout + 15) / 16 * 16 + ((size_t)nd->cout + 15) / 16 * 16;
    }
    bb->n_params = total;
    bb->params = vs__malloc_aligned((total ? total : 1) * sizeof(float));
    if (!bb->params) return vs__err(VS_ERR_NOMEM, "%s: out of memory", bb->path);
    float *p = bb->params;
    for (int i = 0; i < bb->n_nodes; i++) {
        bb_node *nd = &bb->nodes[i];
        if (nd->op != BB_CONV && nd->op != BB_DWCONV) continue;
        long K = (long)nd->kh * nd->kw * (nd->op == BB_CONV ? nd->cin : 1);
        nd->w = p;
        p += (K * nd->cout + 15) / 16 * 16;
        nd->b = p;
        p += (nd->cout + 15) / 16 * 16;
        fold(nd->w, nd->b, &src[i], K, nd->cout);
    }
    bb_geom *g = vs__calloc(bb->n_nodes, sizeof *g);
    if (!g) return vs__err(VS_ERR_NOMEM, "%s: out of memory", bb->path);
    vs_status st = vs__bb_infer(g, bb, bb->native_size);
    for (int i = 0; !st && i < bb->n_nodes; i++) {
        const bb_node *nd = &bb->nodes[i];
        if (nd->pad == BB_PAD_TFSAME_ZP &&
            (g[i].pt != nd->zp[0] || g[i].pb != nd->zp[1] || g[i].pl != nd->zp[2] ||
             g[i].pr != nd->zp[3]))
            st = vs__err(VS_ERR_UNSUPPORTED,
                         "%s: ZeroPadding2D before '%s' is not TF 'same' padding at size %d",
                         bb->path, nd->name, bb->native_size);
    }
    vs__free(g);
    if (st) return st;
    const char *const *all = strcmp(bb->name, "inception_v3") == 0 ? IV3_TAPS : MNV2_TAPS;
    int n = 0;
    while (all[n]) n++;
    bb->taps = vs__calloc(n + 1, sizeof(char *));
    bb->tap_node = vs__calloc(n + 1, sizeof(int));
    if (!bb->taps || !bb->tap_node) return vs__err(VS_ERR_NOMEM, "%s: out of memory", bb->path);
    const char **taps = (const char **)bb->taps;
    for (int t = 0; all[t]; t++)
        for (int i = 0; i < bb->n_nodes; i++)
            if (strcmp(bb->nodes[i].name, all[t]) == 0) {
                bb->tap_node[bb->n_taps] = i;
                taps[bb->n_taps++] = all[t];
                break;
            }
    if (!bb->n_taps)
        return vs__err(VS_ERR_FORMAT, "%s: the graph contains none of the known taps", bb->path);
    return VS_OK;
}

vs_status vs_backbone_load(vs_backbone **out, const char *path) {
    if (!out || !path) return vs__err(VS_ERR_INVALID_ARG, "vs_backbone_load: NULL argument");
    *out = NULL;
    vs__tf *tf = NULL;
    vs_status st = vs__tf_open(&tf, path);
    if (st) return st;
    vs_backbone *bb = vs__calloc(1, sizeof *bb);
    klayer *Ls = vs__calloc(MAX_LAYERS, sizeof *Ls);
    nsrc *src = vs__calloc(MAX_LAYERS, sizeof *src);
    char *text = NULL;
    if (!bb || !Ls || !src || !(bb->path = vs__strdup(path))) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    const char *model = vs__tf_meta(tf, "model"), *graph = vs__tf_meta(tf, "graph");
    if (!model || !graph) {
        st = vs__err(VS_ERR_FORMAT, "%s: not a backbone weights file (no 'model'/'graph' metadata)"
                     "; HINT: run scripts/fetch_weights.sh", path);
        goto out;
    }
    if (strcmp(model, "inception_v3") != 0 && strcmp(model, "mobilenet_v2") != 0) {
        st = vs__err(VS_ERR_UNSUPPORTED, "%s: model '%s' (expected inception_v3 or mobilenet_v2)",
                     path, model);
        goto out;
    }
    if (!(bb->name = vs__strdup(model)) || !(text = vs__strdup(graph))) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    int nl = 0;
    if ((st = parse_lines(Ls, &nl, text, path))) goto out;
    if (nl < 2) {
        st = vs__err(VS_ERR_FORMAT, "%s: empty graph", path);
        goto out;
    }
    if (!(bb->nodes = vs__calloc(nl, sizeof(bb_node)))) {
        st = vs__err(VS_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    bb->n_nodes = nl; /* for cleanup of names while building */
    if ((st = build(bb, src, Ls, nl, tf))) goto out;
    if ((st = finish(bb, src))) goto out;
out:
    vs__free(text);
    vs__free(src);
    vs__free(Ls);
    vs__tf_close(tf);
    if (st) vs_backbone_free(bb);
    else *out = bb;
    return st;
}

const char *vs_backbone_name(const vs_backbone *bb) { return bb ? bb->name : NULL; }

const char *const *vs_backbone_tap_names(const vs_backbone *bb) { return bb ? bb->taps : NULL; }
