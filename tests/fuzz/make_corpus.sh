#!/usr/bin/env bash
# make_corpus.sh - regenerate the seed corpora in tests/fuzz/corpus/<target>/ with
# the project's own writers (tests/fuzz/make_corpus.c), in a CMake build folder
# (default /tmp/vs-fuzz-corpus-build; give another as $1). Past findings kept
# under corpus/<target>/crash-* are left alone. Deterministic: rerunning gives the
# same bytes, so the committed files only change when a writer's format changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-/tmp/vs-fuzz-corpus-build}
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j "${JOBS:-2}" --target fuzz_make_corpus >/dev/null
"$B/fuzz_make_corpus" tests/fuzz/corpus
# decode: tiny real clips (48x32, 1.5 s at 4 fps) in several containers and codecs,
# bit-exact so that rerunning with the same FFmpeg gives the same bytes
D=tests/fuzz/corpus/decode; mkdir -p "$D"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
S=(-f lavfi -i testsrc2=size=48x32:rate=4 -t 1.5 -fflags +bitexact -flags:v +bitexact -map_metadata -1)
ff "${S[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$D/h264.mp4"
ff -i "$D/h264.mp4" -c copy -metadata:s:v:0 rotate=90 "$D/h264_rot90.mp4"
ff -i "$D/h264.mp4" -c copy -t 1 -f mp4 -movflags +faststart -fflags +bitexact "$D/h264_faststart.mp4"
ff "${S[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f matroska "$D/h264.mkv"
ff "${S[@]}" -c:v mpeg4 -q:v 10 "$D/mpeg4.avi"
ff "${S[@]}" -c:v mjpeg -q:v 20 "$D/mjpeg.mov"
ff "${S[@]}" -c:v libvpx -b:v 20k "$D/vp8.webm"
ff "${S[@]}" -c:v mpeg2video -q:v 10 "$D/mpeg2.ts"
ff "${S[@]}" "$D/gif.gif"
# index: the catalogue.sqlite files of tests/fuzz/corpus/index were written by vidsim
# (`index add --backbone mobilenet --raw --fps 2` of three 3-s lavfi clips and one
# non-video, `index hash --hash-model lsh64`, `verdict set ... not_duplicate`; and an
# index holding only the failed row), then `PRAGMA journal_mode=DELETE; PRAGMA
# page_size=512; VACUUM` so that they are small. They hold times and random names, so
# they are not regenerated here: rerun those commands to refresh them.
# http: raw requests to `vidsim serve` (tests/fuzz/fuzz_http.c: an optional first byte
# < 0x20 sets token / remote client / small --max-upload), valid and hostile.
mkdir -p tests/fuzz/corpus/http
(cd tests/fuzz/corpus/http && python3 - <<'PY'
def req(name, head, body=b'', mode=None, cl=True):
    h, b = head.encode(), body if isinstance(body, bytes) else body.encode()
    if cl and b:
        h = h.replace(b'\r\n\r\n', b'\r\nContent-Length: %d\r\n\r\n' % len(b), 1)
    open(name, 'wb').write((bytes([mode]) if mode is not None else b'') + h + b)
L = 'Host: 127.0.0.1:8080\r\n'
req('get_healthz', 'GET /healthz HTTP/1.1\r\n' + L + '\r\n')
req('get_metrics', 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n')
req('get_page', 'GET / HTTP/1.1\r\n' + L + 'Accept: text/html\r\n\r\n')
req('get_videos_query', 'GET /v1/videos?page=2&per_page=50&q=clip%20one HTTP/1.1\r\n' + L + '\r\n')
req('get_thumb', 'GET /v1/videos/12/thumbnail?t=3.5&size=128 HTTP/1.1\r\n' + L + '\r\n')
req('get_job', 'GET /v1/jobs/000000000000000001 HTTP/1.1\r\n' + L + '\r\n')
req('post_search_json', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: application/json\r\n\r\n',
    '{"name": "movie.mp4", "top": 5, "threshold": "p90", "segments": true, "norm": "off"}\n')
req('post_search_form', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: application/x-www-form-urlencoded\r\n\r\n',
    'name=a%2Fb.mp4&top=10&norm=off&segments=1&name=+more')
mp = ('--XyZ123\r\nContent-Disposition: form-data; name="top"\r\n\r\n3\r\n'
      '--XyZ123\r\nContent-Disposition: form-data; name="file"; filename="../../etc/.passwd.mp4"\r\n'
      'Content-Type: video/mp4\r\n\r\nAAAAIGZ0eXBpc29tAAACAGlzb21pc28y\r\n'
      '--XyZ123\r\nContent-Disposition: form-data; name="file"; filename="second.mp4"\r\n\r\nxx\r\n--XyZ123--\r\n')
req('post_search_multipart', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: multipart/form-data; boundary=XyZ123\r\n\r\n', mp)
req('post_videos_upload', 'POST /v1/videos HTTP/1.1\r\n' + L + 'Content-Type: multipart/form-data; boundary=XyZ123\r\n\r\n', mp)
req('post_videos_token', 'POST /v1/videos HTTP/1.1\r\nHost: example.com\r\nAuthorization: Bearer fuzz-token\r\n'
    'Content-Type: application/json\r\n\r\n', '{"path": "/srv/videos/a.mp4"}', mode=1)
req('delete_bad_token', 'DELETE /v1/videos/7 HTTP/1.1\r\n' + L + 'Authorization: Bearer fuzz-tokeX\r\n\r\n', mode=1)
req('put_verdict', 'PUT /v1/pairs/3/4/verdict HTTP/1.1\r\n' + L + 'Origin: http://127.0.0.1:8080\r\n'
    'Content-Type: application/json\r\n\r\n', '{"verdict": "duplicate"}')
req('put_verdict_cross_origin', 'PUT /v1/pairs/3/4/verdict HTTP/1.1\r\n' + L + 'Origin: http://evil.example\r\n'
    'Content-Type: application/json\r\n\r\n', '{"verdict": "duplicate"}')
req('post_videos_remote', 'POST /v1/videos HTTP/1.1\r\n' + L + 'Content-Length: 0\r\n\r\n', mode=2)
part = (b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n\r\n' + b'0' * 1500 +
        b'\r\n--bnd--\r\n')
chunked = b''.join(b'%x\r\n' % len(part[i:i + 400]) + part[i:i + 400] + b'\r\n'
                   for i in range(0, len(part), 400)) + b'0\r\n\r\n'
req('post_upload_chunked_too_large', 'POST /v1/videos HTTP/1.1\r\n' + L + 'Content-Type: multipart/form-data; '
    'boundary=bnd\r\nTransfer-Encoding: chunked\r\n\r\n', chunked, mode=4, cl=False)
req('bad_content_length', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: application/json\r\n'
    'Content-Length: 99999999999999999999\r\n\r\n{}', cl=False)
req('json_hostile', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: application/json\r\n\r\n',
    '{"name": "a\\u0000b", "top": [1], "x": {"y":1}}')
req('json_escapes', 'POST /v1/search HTTP/1.1\r\n' + L + 'Content-Type: application/json; charset=utf-8\r\n\r\n',
    ' { "name" : "a\\"b\\\\c\\/d\\n\\t" , "other": 12e3, "top": -0 } ')
req('get_many_parts', 'GET /v1/a/b/c/d/e/f/g/h/i/j/../../%2e%2e/%00x?name=..&top=-1e309&segments=maybe HTTP/1.1\r\n'
    'Host: [::1]\r\n\r\n')
req('get_error_utf8', 'GET /error?name=%ff%fe%22%5c%0a%e2%82 HTTP/1.0\r\n\r\n')
req('post_unsupported_type', 'POST /v1/verdicts HTTP/1.1\r\n' + L + 'Content-Type: text/plain\r\n\r\n', 'hello')
req('pipelined', 'GET /healthz HTTP/1.1\r\n' + L + '\r\nGET /v1/dedup?threshold=p95 HTTP/1.1\r\n' + L +
    'Connection: close\r\n\r\n')
PY
)
for d in tests/fuzz/corpus/*/; do
  printf '%-32s %3d files, largest %5d bytes\n' "$d" "$(ls "$d" | wc -l)" \
    "$(find "$d" -type f -printf '%s\n' | sort -n | tail -1)"
done
