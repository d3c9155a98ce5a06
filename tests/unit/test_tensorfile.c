/*
 * test_tensorfile.c - round trip of the VSTF named-tensor container, and rejection
 * of truncated, corrupt and foreign files with a message naming the file; plus the
 * allocation fault-injection loop over open.
 */
#include "test.h"
#include "core/tensorfile.h"

int main(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tf_roundtrip.vstf", vs_test_tmpdir());
    vs__tfw *w;
    CHECK_EQ(vs__tfw_create(&w), VS_OK);
    float a[6] = {1, -2, 3.5f, 4, 5, 6};
    int32_t b[3] = {7, -8, 9};
    unsigned char c[5] = {0, 1, 2, 254, 255};
    int64_t da[2] = {2, 3}, db[1] = {3}, dc[1] = {5};
    CHECK_EQ(vs__tfw_meta(w, "model", "test"), VS_OK);
    CHECK_EQ(vs__tfw_meta(w, "user.k", "v2"), VS_OK);
    CHECK_EQ(vs__tfw_add(w, "a", VS_DT_F32, 2, da, a), VS_OK);
    CHECK_EQ(vs__tfw_add(w, "b", VS_DT_I32, 1, db, b), VS_OK);
    CHECK_EQ(vs__tfw_add(w, "c", VS_DT_U8, 1, dc, c), VS_OK);
    CHECK_EQ(vs__tfw_add(w, "scalar", VS_DT_F32, 0, NULL, a), VS_OK);
    CHECK_EQ(vs__tfw_save(w, path), VS_OK);
    vs__tfw_free(w);

    vs__tf *tf;
    CHECK_EQ(vs__tf_open(&tf, path), VS_OK);
    CHECK_EQ(vs__tf_count(tf), 4);
    CHECK(strcmp(vs__tf_meta(tf, "model"), "test") == 0);
    CHECK(vs__tf_meta(tf, "nope") == NULL);
    /* the metadata iterator: every pair, in the order written */
    {
        const char *k, *v;
        CHECK_EQ(vs__tf_meta_count(tf), 2);
        CHECK(vs__tf_meta_at(tf, 0, &k, &v) == 0 && !strcmp(k, "model") && !strcmp(v, "test"));
        CHECK(vs__tf_meta_at(tf, 1, &k, &v) == 0 && !strcmp(k, "user.k") && !strcmp(v, "v2"));
        CHECK(vs__tf_meta_at(tf, 2, &k, &v) == -1 && k == NULL && v == NULL);
        CHECK(vs__tf_meta_at(tf, -1, &k, &v) == -1);
    }
    const vs__tensor *t;
    int64_t want[2] = {2, 3};
    CHECK_EQ(vs__tf_get(tf, "a", VS_DT_F32, 2, want, &t), VS_OK);
    CHECK(t && memcmp(t->data, a, sizeof a) == 0);
    CHECK(((uintptr_t)t->data & 63) == 0);
    int64_t wrong[2] = {3, 2};
    CHECK_EQ(vs__tf_get(tf, "a", VS_DT_F32, 2, wrong, &t), VS_ERR_FORMAT);
    CHECK(strstr(vs_last_error(), "shape [2x3]") != NULL);
    CHECK_EQ(vs__tf_get(tf, "b", VS_DT_I32, 1, NULL, &t), VS_OK);
    CHECK(t && ((const int32_t *)t->data)[1] == -8);
    CHECK_EQ(vs__tf_get(tf, "c", VS_DT_U8, 1, NULL, &t), VS_OK);
    CHECK(t && ((const unsigned char *)t->data)[4] == 255);
    CHECK_EQ(vs__tf_get(tf, "scalar", VS_DT_F32, 0, NULL, &t), VS_OK);
    CHECK(t && t->numel == 1);
    CHECK_EQ(vs__tf_get(tf, "missing", VS_DT_F32, -1, NULL, &t), VS_ERR_FORMAT);
    vs__tf_close(tf);

    /* Damage: truncation, a flipped byte, a foreign file, an empty file. */
    size_t len;
    unsigned char *buf = vs_test_read_file(path, &len);
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/tf_bad.vstf", vs_test_tmpdir());
    for (int k = 0; k < 4; k++) {
        FILE *f = fopen(bad, "wb");
        if (k == 0) fwrite(buf, 1, len / 2, f);
        if (k == 1) { buf[100] ^= 0x40; fwrite(buf, 1, len, f); buf[100] ^= 0x40; }
        if (k == 2) fputs("this is not a tensor file, just text that is long enough to pass the size check", f);
        fclose(f);
        vs_status st = vs__tf_open(&tf, bad);
        CHECK_EQ(st, VS_ERR_FORMAT);
        CHECK(tf == NULL);
        CHECK_MSG(strstr(vs_last_error(), "tf_bad.vstf") != NULL, "message: %s", vs_last_error());
    }
    free(buf);
    CHECK_EQ(vs__tf_open(&tf, "/nonexistent/x.vstf"), VS_ERR_IO);

    /* Fault injection: every allocation failure in open is reported and frees everything. */
    int saw_ok = 0;
    for (long n = 1; n < 200 && !saw_ok; n++) {
        vs_alloc_fail_after(n);
        vs_status st = vs__tf_open(&tf, path);
        vs_alloc_fail_after(0);
        if (st == VS_OK) { saw_ok = 1; vs__tf_close(tf); }
        else CHECK_EQ(st, VS_ERR_NOMEM);
    }
    CHECK(saw_ok);
    return vs_test_done();
}
