/*
 * test_extract_stats.c - the per-stage timing of extraction (vs_extract_stats, the
 * numbers behind `extract --timing` and `index add --timing`): on lavfi clips with
 * MobileNetV2, every stage is non-negative, the stages plus "other" add up to the
 * wall time, the frames counted equal the features' T, the video seconds equal the
 * features' duration, a state's stats are zero before its first video and replaced
 * (not accumulated) by the next; vs_extract_files and vs_index_add_files hand each
 * extracted file's stats (with its save / commit time as write_s) to on_item and
 * NULL for files they leave alone; vs_extract_stats_add sums field by field; a video
 * of black frames only is refused with no frame computed.
 * Needs ffmpeg and the MobileNetV2 weights; skips naming what is missing.
 */
#include "test.h"
#include "vidsim/vidsim.h"

#include <string.h>
#include <unistd.h>

static char g_dir[1024], g_a[1200], g_b[1200], g_bb[1200];

static int make_clip(const char *src, int seconds, const char *path) {
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i '%s%csize=320x240:rate=25' -t %d "
             "-pix_fmt yuv420p '%s'",
             src, strchr(src, '=') ? ':' : '=', seconds, path);
    return system(cmd) == 0;
}

/* The invariants of one video's stats; write: whether write_s must be > 0. */
static void check_stats(const char *what, const vs_extract_stats *t, const vs_features *f, int write) {
    const double stages[] = {t->decode_s, t->preprocess_s, t->backbone_s, t->pool_s, t->write_s, t->other_s};
    double sum = 0;
    for (int i = 0; i < 6; i++) {
        CHECK_MSG(stages[i] >= 0, "%s: stage %d negative (%g)", what, i, stages[i]);
        sum += stages[i];
    }
    CHECK_MSG(fabs(sum - t->wall_s) <= 1e-6 * (1 + t->wall_s), "%s: stages add up to %.9f s, wall %.9f s", what,
              sum, t->wall_s);
    CHECK_MSG(t->decode_s > 0 && t->backbone_s > 0 && t->pool_s > 0 && t->preprocess_s > 0,
              "%s: a stage that ran has no time (decode %g, pre %g, backbone %g, pool %g)", what, t->decode_s,
              t->preprocess_s, t->backbone_s, t->pool_s);
    CHECK_MSG(write ? t->write_s > 0 : t->write_s == 0, "%s: write_s %g", what, t->write_s);
    if (f) {
        CHECK_EQ(t->frames, (long)f->T);
        CHECK_NEAR(t->video_s, f->duration, 1e-9);
    }
    CHECK_MSG(t->n_sampled >= t->frames && t->n_decoded >= t->n_sampled,
              "%s: frames %ld, sampled %ld, decoded %ld", what, t->frames, t->n_sampled, t->n_decoded);
}

typedef struct {
    int n_stats, n_null;
    long frames;
    vs_extract_stats sum;
} seen;

static void on_item(const vs_batch_item *it, void *user) {
    seen *s = user;
    if (it->error[0]) CHECK_MSG(0, "batch item %d failed: %s", it->i, it->error);
    if (!it->stats) {
        s->n_null++;
        return;
    }
    s->n_stats++;
    check_stats("batch item", it->stats, NULL, 1);
    CHECK_EQ(it->stats->frames, it->n_frames);
    s->frames += it->n_frames;
    vs_extract_stats_add(&s->sum, it->stats);
}

int main(void) {
    const char *models = getenv("VS_MODELS");
    const char *tmp = getenv("VS_TMP");
    snprintf(g_bb, sizeof g_bb, "%s/mobilenet_v2.vstf", models && *models ? models : "models");
    if (access(g_bb, R_OK) != 0) SKIP("%s missing (run scripts/fetch_weights.sh)", g_bb);
    if (system("ffmpeg -version > /dev/null 2>&1") != 0) SKIP("no ffmpeg to make the test clips");
    snprintf(g_dir, sizeof g_dir, "%s/extract_stats", tmp && *tmp ? tmp : "/tmp");
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", g_dir, g_dir);
    if (system(cmd) != 0) SKIP("cannot make %s", g_dir);
    snprintf(g_a, sizeof g_a, "%s/a.mp4", g_dir);
    snprintf(g_b, sizeof g_b, "%s/b.mp4", g_dir);
    if (!make_clip("testsrc2", 6, g_a) || !make_clip("mandelbrot", 4, g_b)) SKIP("ffmpeg could not make the clips");

    vs_extract_params p = vs_extract_default_params();
    p.batch = 4; /* 6 and 4 samples: several backbone calls, one partial */
    vs_extractor *ex = NULL;
    vs_extract_state *st = NULL;
    CHECK_EQ(vs_extractor_load(&ex, g_bb, NULL, &p), VS_OK);
    CHECK_EQ(vs_extract_state_create(&st, ex), VS_OK);
    if (!st) return vs_test_done();

    vs_extract_stats t, zero;
    memset(&zero, 0, sizeof zero);
    memset(&t, 0xff, sizeof t);
    vs_extract_state_stats(st, &t);
    CHECK(memcmp(&t, &zero, sizeof t) == 0);
    CHECK_EQ(vs_extract_state_videos(st), 0);

    vs_features *fa = NULL, *fb = NULL;
    CHECK_EQ(vs_extract_video(st, g_a, &fa), VS_OK);
    vs_extract_state_stats(st, &t);
    if (fa) {
        check_stats("a.mp4", &t, fa, 0);
        CHECK_EQ(fa->T, 6);
        CHECK_EQ(t.n_sampled, 6);
        CHECK_NEAR(t.video_s, 6.0, 0.05);
        CHECK_MSG(t.n_decoded > t.n_sampled, "decoded %ld of 150 frames", t.n_decoded);
    }
    CHECK_EQ(vs_extract_state_videos(st), 1);
    CHECK_EQ(vs_extract_video(st, g_b, &fb), VS_OK);
    vs_extract_stats tb;
    vs_extract_state_stats(st, &tb);
    if (fb) {
        check_stats("b.mp4", &tb, fb, 0); /* replaced: b's frames, not a's + b's */
        CHECK_EQ(tb.frames, 4);
    }
    CHECK_EQ(vs_extract_state_videos(st), 2);

    /* a failed call: the count goes up, the stats say nothing was computed */
    vs_features *fx = NULL;
    char missing[1300];
    snprintf(missing, sizeof missing, "%s/missing.mp4", g_dir);
    CHECK(vs_extract_video(st, missing, &fx) != VS_OK);
    vs_extract_stats tx;
    vs_extract_state_stats(st, &tx);
    CHECK_EQ(tx.frames, 0);
    CHECK(tx.backbone_s == 0 && tx.wall_s >= 0);
    CHECK_EQ(vs_extract_state_videos(st), 3);
    if (!fa) return vs_test_done();

    /* a video of black frames only: refused, the stats say no frame was computed */
    char black[1300];
    snprintf(black, sizeof black, "%s/black.mp4", g_dir);
    if (make_clip("color=c=black", 3, black)) {
        vs_features *fk = NULL;
        CHECK_EQ(vs_extract_video(st, black, &fk), VS_ERR_DECODE);
        CHECK(strstr(vs_last_error(), "near-constant") != NULL && strstr(vs_last_error(), "black.mp4") != NULL);
        CHECK(fk == NULL);
        vs_extract_stats tk;
        vs_extract_state_stats(st, &tk);
        CHECK(tk.frames == 0 && tk.backbone_s == 0 && tk.decode_s > 0);
    }

    /* the sum */
    vs_extract_stats s = t;
    vs_extract_stats_add(&s, &tb);
    CHECK_EQ(s.frames, t.frames + tb.frames);
    CHECK_NEAR(s.backbone_s, t.backbone_s + tb.backbone_s, 1e-12);
    CHECK_NEAR(s.wall_s, t.wall_s + tb.wall_s, 1e-12);
    CHECK_EQ(s.n_decoded, t.n_decoded + tb.n_decoded);

    /* vs_extract_files: stats per extracted file, NULL when up to date */
    const char *in[2] = {g_a, g_b};
    char oa[1300], ob[1300];
    snprintf(oa, sizeof oa, "%s/a.vsf", g_dir);
    snprintf(ob, sizeof ob, "%s/b.vsf", g_dir);
    const char *out[2] = {oa, ob};
    for (int jobs = 1; jobs <= 2; jobs++) {
        seen sn;
        memset(&sn, 0, sizeof sn);
        vs_batch_params bp = vs_batch_default_params();
        bp.n_jobs = jobs;
        bp.on_item = on_item;
        bp.user = &sn;
        CHECK_EQ(vs_extract_files(ex, in, out, 2, 1, &bp), VS_OK);
        CHECK_EQ(sn.n_stats, 2);
        CHECK_EQ(sn.frames, 10);
        CHECK_EQ(sn.sum.frames, 10);
        CHECK_NEAR(sn.sum.video_s, 10.0, 0.1);
        memset(&sn, 0, sizeof sn);
        CHECK_EQ(vs_extract_files(ex, in, out, 2, 0, &bp), VS_OK); /* up to date */
        CHECK_EQ(sn.n_stats, 0);
        CHECK_EQ(sn.n_null, 2);
    }

    /* vs_index_add_files: stats for added videos, NULL for unchanged ones */
    char idir[1300];
    snprintf(idir, sizeof idir, "%s/idx", g_dir);
    vs_index *idx = NULL;
    CHECK_EQ(vs_index_open(&idx, idir, VS_INDEX_CREATE), VS_OK);
    if (idx) {
        seen sn;
        memset(&sn, 0, sizeof sn);
        vs_batch_params bp = vs_batch_default_params();
        bp.n_jobs = 2;
        bp.on_item = on_item;
        bp.user = &sn;
        CHECK_EQ(vs_index_add_files(idx, ex, in, 2, 0, &bp), VS_OK);
        CHECK_EQ(sn.n_stats, 2);
        CHECK_EQ(sn.sum.frames, 10);
        memset(&sn, 0, sizeof sn);
        CHECK_EQ(vs_index_add_files(idx, ex, in, 2, 0, &bp), VS_OK); /* unchanged */
        CHECK_EQ(sn.n_stats, 0);
        CHECK_EQ(sn.n_null, 2);
        vs_index_close(idx);
    }

    vs_features_free(fa);
    vs_features_free(fb);
    vs_extract_state_free(st);
    vs_extractor_free(ex);
    return vs_test_done();
}
