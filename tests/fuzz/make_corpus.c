/*
 * make_corpus.c - writes the seed corpora of the fuzz targets into
 * tests/fuzz/corpus/<target>/ with the project's own writers: valid tiny files
 * (a VSTF from the tensor-file writer, a 1-frame and a 2-frame .vsf from
 * vs_features_save, visil_f / ConMH / clip model files from their _save functions,
 * a tiny backbone graph, gt/pred/segment CSV and queries/dataset JSON) plus
 * truncated and byte-flipped variants. Every file stays under 4 KB so the corpora
 * can be committed. Run through tests/fuzz/make_corpus.sh; deterministic.
 * Not here: a full ViSiL model (its conv weights are 330 KB): the visil seed holds
 * the attention and first conv tensors only, so the loader gets to the later checks.
 * Usage: fuzz_make_corpus CORPUS_DIR
 */
#include "core/tensorfile.h"
#include "vidsim/backbone.h"
#include "vidsim/clipmodel.h"
#include "vidsim/features.h"
#include "vidsim/hashmodel.h"
#include "vidsim/simmodel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;
static int n_bad;

static void path_of(char *p, size_t n, const char *target, const char *name) {
    snprintf(p, n, "%s/%s/%s", root, target, name);
}

static unsigned char *slurp(const char *p, size_t *len) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void put(const char *target, const char *name, const void *data, size_t len) {
    char p[4096];
    path_of(p, sizeof p, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", p);
        n_bad++;
    }
}

static void text(const char *target, const char *name, const char *s) { put(target, name, s, strlen(s)); }

/* After a writer made target/name: check its size, and add name.trunc (first
 * half) and name.flip (one byte in the middle flipped). */
static void variants(const char *target, const char *name, vs_status st) {
    char p[4096], n2[512];
    path_of(p, sizeof p, target, name);
    if (st != VS_OK) {
        fprintf(stderr, "make_corpus: %s: %s\n", p, vs_last_error());
        n_bad++;
        return;
    }
    size_t len = 0;
    unsigned char *b = slurp(p, &len);
    if (!b) { n_bad++; return; }
    /* checkpoints hold a model and two moment tensors per parameter, each 64-byte aligned */
    const size_t limit = strcmp(target, "checkpoints") ? 4096 : 32768;
    if (len >= limit) {
        fprintf(stderr, "make_corpus: %s is %zu bytes (limit %zu)\n", p, len, limit - 1);
        n_bad++;
    }
    snprintf(n2, sizeof n2, "%s.trunc", name);
    put(target, n2, b, len / 2);
    b[len / 2] ^= 0x40;
    snprintf(n2, sizeof n2, "%s.flip", name);
    put(target, n2, b, len);
    free(b);
}

static void tensorfiles(void) {
    char p[4096];
    vs__tfw *w = NULL;
    if (vs__tfw_create(&w)) { n_bad++; return; }
    vs__tfw_meta(w, "producer", "make_corpus");
    vs__tfw_meta(w, "note", "one tensor of each dtype");
    float f32[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
    int32_t i32[3] = {1, -1, 1 << 30};
    uint8_t u8[5] = {0, 1, 2, 254, 255};
    double f64[2] = {0.5, -1e300};
    int64_t i64[2] = {-1, 1LL << 40};
    int64_t d23[2] = {2, 3}, d3[1] = {3}, d5[1] = {5}, d2[1] = {2}, d0[2] = {0, 4};
    vs__tfw_add(w, "a/f32", VS_DT_F32, 2, d23, f32);
    vs__tfw_add(w, "b/i32", VS_DT_I32, 1, d3, i32);
    vs__tfw_add(w, "c/u8", VS_DT_U8, 1, d5, u8);
    vs__tfw_add(w, "d/f64", VS_DT_F64, 1, d2, f64);
    vs__tfw_add(w, "e/i64", VS_DT_I64, 1, d2, i64);
    vs__tfw_add(w, "f/empty", VS_DT_F32, 2, d0, f32);
    vs__tfw_add(w, "g/scalar", VS_DT_F32, 0, NULL, f32);
    path_of(p, sizeof p, "tensorfile", "mixed.vstf");
    variants("tensorfile", "mixed.vstf", vs__tfw_save(w, p));
    vs__tfw_free(w);
    if (vs__tfw_create(&w)) { n_bad++; return; }
    path_of(p, sizeof p, "tensorfile", "empty.vstf");
    variants("tensorfile", "empty.vstf", vs__tfw_save(w, p));
    vs__tfw_free(w);
    text("tensorfile", "garbage", "VIDSIMTF\1\0\0\0 this is not a tensor file VSTFEND1");
}

static void featfiles(void) {
    char p[4096];
    float data[2 * 3 * 4], times[2] = {0, 0.5f};
    for (int i = 0; i < 24; i++) data[i] = (float)(i % 7) * 0.25f - 0.5f;
    vs_features f;
    memset(&f, 0, sizeof f);
    f.T = 1, f.R = 1, f.D = 4, f.data = data, f.times = times, f.fps = 1, f.duration = 1;
    snprintf(f.model_id, sizeof f.model_id, "corpus-1x1x4");
    f.source = "a.mp4";
    f.source_size = 1234, f.source_mtime = 1700000000000000000LL, f.source_hash = 0x1234abcdULL;
    path_of(p, sizeof p, "featfile", "one_frame.vsf");
    variants("featfile", "one_frame.vsf", vs_features_save(&f, p));
    f.T = 2, f.R = 3, f.D = 4, f.fps = 2, f.n_damaged = 1;
    snprintf(f.model_id, sizeof f.model_id, "corpus-2x3x4");
    f.source = "/videos/a long/source path with spaces and more than sixty-four bytes in it.mkv";
    path_of(p, sizeof p, "featfile", "two_frames.vsf");
    variants("featfile", "two_frames.vsf", vs_features_save(&f, p));
}

/* The tiny MobileNet-style graph of tests/unit/test_backbone.c, fewer layers. */
static const char *GRAPH =
    "input_1 InputLayer - shape=8,8,3\n"
    "Conv1_pad ZeroPadding2D input_1 pads=0,1,0,1\n"
    "Conv1 Conv2D Conv1_pad k=3,3 s=2,2 d=1,1 pad=valid act=linear w=Conv1/kernel\n"
    "bn_Conv1 BatchNormalization Conv1 eps=0.001 center=1 scale=1\n"
    "Conv1_relu ReLU bn_Conv1 max=6 slope=0 thr=0\n"
    "dw DepthwiseConv2D Conv1_relu k=3,3 s=1,1 d=1,1 pad=same act=linear w=dw/depthwise_kernel mult=1\n"
    "proj Conv2D dw k=1,1 s=1,1 d=1,1 pad=same act=linear w=proj/kernel\n"
    "expanded_conv_project_BN BatchNormalization proj eps=0.001 center=1 scale=0\n"
    "avg AveragePooling2D expanded_conv_project_BN k=3,3 s=1,1 pad=same\n"
    "mx MaxPooling2D expanded_conv_project_BN k=3,3 s=1,1 pad=same\n"
    "cat Concatenate avg,mx\n"
    "c2 Conv2D cat k=1,1 s=1,1 d=1,1 pad=same act=relu w=c2/kernel b=c2/bias\n"
    "block_2_add Add c2,expanded_conv_project_BN";

static void backbone(void) {
    static const struct { const char *name; int nd; int64_t d[4]; } W[] = {
        {"Conv1/kernel", 4, {3, 3, 3, 2}},
        {"bn_Conv1/gamma", 1, {2}}, {"bn_Conv1/beta", 1, {2}},
        {"bn_Conv1/moving_mean", 1, {2}}, {"bn_Conv1/moving_variance", 1, {2}},
        {"dw/depthwise_kernel", 4, {3, 3, 2, 1}},
        {"proj/kernel", 4, {1, 1, 2, 2}},
        {"expanded_conv_project_BN/beta", 1, {2}},
        {"expanded_conv_project_BN/moving_mean", 1, {2}},
        {"expanded_conv_project_BN/moving_variance", 1, {2}},
        {"c2/kernel", 4, {1, 1, 4, 2}}, {"c2/bias", 1, {2}},
    };
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = 0.1f + (float)(i % 5) * 0.05f;
    vs__tfw *w = NULL;
    if (vs__tfw_create(&w)) { n_bad++; return; }
    vs__tfw_meta(w, "model", "mobilenet_v2");
    vs__tfw_meta(w, "graph", GRAPH);
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++) vs__tfw_add(w, W[i].name, VS_DT_F32, W[i].nd, W[i].d, v);
    char p[4096];
    path_of(p, sizeof p, "models", "backbone_tiny.vstf");
    vs_status st = vs__tfw_save(w, p);
    vs__tfw_free(w);
    vs_backbone *bb = NULL; /* the seed must load */
    if (!st && (st = vs_backbone_load(&bb, p)) == VS_OK) vs_backbone_free(bb);
    variants("models", "backbone_tiny.vstf", st);
}

static void models(void) {
    char p[4096];
    vs_simmodel *sm = NULL;
    path_of(p, sizeof p, "models", "visil_f.vstf");
    vs_status st = vs_simmodel_builtin(&sm, "visil_f");
    if (!st) st = vs_simmodel_save(sm, p);
    vs_simmodel_free(sm);
    variants("models", "visil_f.vstf", st);

    /* kind "visil" with the attention tensors (D = 4) and conv1 only: the loader
     * checks them, then reports the first missing conv tensor (conv2) */
    vs__tfw *w = NULL;
    if (vs__tfw_create(&w)) { n_bad++; return; }
    float v[16];
    for (int i = 0; i < 16; i++) v[i] = (float)i / 16;
    int64_t d44[2] = {4, 4}, d4[1] = {4}, d14[2] = {1, 4}, c1w[4] = {32, 1, 3, 3}, c1b[1] = {32};
    float c1[32 * 9];
    for (int i = 0; i < 32 * 9; i++) c1[i] = (float)(i % 9 - 4) / 8;
    vs__tfw_meta(w, "simmodel.kind", "visil");
    vs__tfw_meta(w, "simmodel.D", "4");
    vs__tfw_add(w, "attention.transform.weight", VS_DT_F32, 2, d44, v);
    vs__tfw_add(w, "attention.transform.bias", VS_DT_F32, 1, d4, v);
    vs__tfw_add(w, "attention.context_vector.weight", VS_DT_F32, 2, d14, v);
    vs__tfw_add(w, "visil_head.conv1.weight", VS_DT_F32, 4, c1w, c1);
    vs__tfw_add(w, "visil_head.conv1.bias", VS_DT_F32, 1, c1b, c1);
    path_of(p, sizeof p, "models", "visil_partial.vstf");
    variants("models", "visil_partial.vstf", vs__tfw_save(w, p));
    vs__tfw_free(w);

    vs_hashmodel_config hc = vs_hashmodel_default_config(8, 4);
    hc.frames = 2, hc.enc_dim = 4, hc.enc_depth = 0, hc.enc_heads = 1;
    hc.dec_dim = 4, hc.dec_depth = 0, hc.dec_heads = 1;
    vs_hashmodel *hm = NULL;
    path_of(p, sizeof p, "models", "conmh_tiny.vstf");
    st = vs_hashmodel_create(&hm, &hc, 1);
    if (!st) st = vs_hashmodel_save(hm, p);
    vs_hashmodel_free(hm);
    variants("models", "conmh_tiny.vstf", st);

    vs_clipmodel_config cc = vs_clipmodel_default_config();
    cc.D = 4, cc.R = 1, cc.F = 2, cc.width = 4, cc.depth = 1, cc.heads = 1, cc.mlp = 4;
    cc.dec_depth = 0;
    vs_clipmodel *cm = NULL;
    path_of(p, sizeof p, "models", "clip_tiny.vstf");
    st = vs_clipmodel_create(&cm, &cc, 1);
    if (!st) st = vs_clipmodel_save(cm, p);
    vs_clipmodel_free(cm);
    variants("models", "clip_tiny.vstf", st);
}

/* Trainer checkpoints in the common layout (tiny architectures, before any step and
 * after none: what vs_*_resume reads). */
static void checkpoints(void) {
    char p[4096];
    vs_hashtrain_params hp = vs_hashtrain_default_params(8, 4);
    hp.model.frames = 2, hp.model.enc_dim = 4, hp.model.enc_depth = 0, hp.model.enc_heads = 1;
    hp.model.dec_dim = 4, hp.model.dec_depth = 0, hp.model.dec_heads = 1;
    vs_hashtrain *ht = NULL;
    path_of(p, sizeof p, "checkpoints", "conmh_tiny.ckpt");
    vs_status st = vs_hashtrain_create(&ht, &hp);
    if (!st) st = vs_hashtrain_save(ht, p);
    vs_hashtrain_free(ht);
    variants("checkpoints", "conmh_tiny.ckpt", st);

    vs_clipmodel_config cc = vs_clipmodel_default_config();
    cc.D = 4, cc.R = 1, cc.F = 4, cc.width = 4, cc.depth = 1, cc.heads = 1, cc.mlp = 4;
    cc.dec_depth = 1; /* PredMAE (the default stages) needs a decoder */
    vs_cliptrain *ct = NULL;
    path_of(p, sizeof p, "checkpoints", "clip_tiny.ckpt");
    st = vs_cliptrain_create(&ct, &cc, NULL);
    if (!st) st = vs_cliptrain_save(ct, p);
    vs_cliptrain_free(ct);
    variants("checkpoints", "clip_tiny.ckpt", st);
}

static void eval(void) {
    const char *E = "eval";
    text(E, "gt.csv", "query_id,ref_id,query_start,query_end,ref_start,ref_end\n"
                      "q1,r1,0,5,10,15\nq1,r1,6,8,20,22\nq2,r2,1.5,3,0,1.5\n");
    text(E, "pred.csv", "query_id,ref_id,score\nq1,r1,0.9\nq1,r2,0.4\nq2,r2,1e-3\nq2,r1, 2 \n"
                        "q3,r1,inf\nq1,r1,0.95\nq2,r3,1_000\n");
    /* loads as gt and as predictions: scored against itself */
    text(E, "gt_pred.csv", "query_id,ref_id,score,extra\nq1,r1,1,x\nq2,r2,0.5,\"y,z\"\nq3,r9,0.1,\n");
    text(E, "queries.json", "[{\"query_id\": \"q1\", \"ref_id\": \"r1\", \"edits\": [\"crop\", \"blur\"]},"
                            " {\"query_id\": \"q2\", \"ref_id\": \"r2\", \"edits\": []},"
                            " {\"query_id\": \"q3\", \"ref_id\": null}, {\"query_id\": \"q4\", \"ref_id\": \"\"}]\n");
    /* loads as gt segments and as scored predictions */
    text(E, "segments.csv", "query_id,ref_id,query_start,query_end,ref_start,ref_end,score\n"
                            "q1,r1,0,5,10,15,0.9\nq1,r1,4,8,18,22,0.9\nq2,r2,1.5,3,0,1.5,0.5\n"
                            "q2,r2,1.5,3,0,1.5,0.5\nq3,r1,0,0,0,0,0.1\n");
    text(E, "segments_reordered.csv", "score,ref_end,ref_start,query_end,query_start,ref_id,query_id\n"
                                      "1,2,1,2,1,b,a\n0.5,9,3,9.5,3.5,b,a\n");
    text(E, "segment_queries.json", "[{\"query_id\": \"q1\", \"edits\": [\"crop\"]},"
                                    " {\"query_id\": \"q2\", \"edits\": [\"all\", \"crop\"]}, {\"query_id\": null}]\n");
    text(E, "vcdb.json", "{\"dataset\": \"vcdb\", \"queries\": [\"v1\", \"v2\"],"
                         " \"positives\": {\"v1\": [\"v2\"], \"v2\": []}, \"distractors\": [\"z1\"]}\n");
    text(E, "evve.json", "{\"dataset\": \"evve\", \"events\": {\"evB\": {\"queries\": [\"e1\"],"
                         " \"positives\": [\"p1\"], \"null\": []}}, \"queries\": [\"e1\"], \"database\": [\"p1\", \"n1\"]}\n");
    text(E, "fivr.json", "{\"dataset\": \"fivr\", \"versions\": {\"200k\": {\"queries\": [\"q1\"],"
                         " \"database\": [\"q1\", \"a\", \"b\"]}, \"5k\": {\"queries\": [\"q1\"], \"database\": [\"a\"]}},"
                         " \"annotation\": {\"q1\": {\"ND\": [\"a\"], \"DS\": [\"b\"]}}, \"easy_duplicates\": [\"a\"]}\n");
    text(E, "ccweb.json", "{\"dataset\": \"cc_web_video\", \"index\": {\"1/q\": 0, \"1/a\": 1},"
                          " \"queries\": [\"1/q\"], \"ground_truth\": [{\"0\": \"E\", \"1\": \"S\"}], \"excluded\": [[1]]}\n");
    text(E, "bad_rows.csv", "query_id,ref_id,score\nq1\nq1,r1,nan\n\"unterminated,r1,1\n");
    text(E, "empty.csv", "");
    text(E, "bad.json", "[{\"query_id\": \"q1\", \"edits\": [1, {\"x\": [1e999, -0, \"\\u00e9\\ud83d\\ude00\"]}]");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    const char *targets[] = {"tensorfile", "featfile", "models", "eval", "checkpoints"};
    char p[4096];
    mkdir(root, 0777);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", root, targets[i]);
        mkdir(p, 0777);
    }
    tensorfiles();
    featfiles();
    backbone();
    models();
    checkpoints();
    eval();
    if (n_bad) fprintf(stderr, "make_corpus: %d problem(s)\n", n_bad);
    return n_bad ? 1 : 0;
}
