#!/bin/bash
# make_synthetic.sh OUTDIR - writes the small synthetic clips the decoder tests use
# (tests/unit/test_decode.c), made with the ffmpeg CLI so nothing binary is committed.
# Each clip has a known duration, frame rate and layout:
#
#   cfr25_5s.mp4       testsrc2 320x240, 25 fps, exactly 5.0 s, H.264 with B-frames
#   ntsc_4_5s.mp4      testsrc 352x288, 30000/1001 fps, 4.5 s (odd time base)
#   portrait_7_3s.mp4  testsrc2 240x320 (portrait), 30 fps, 7.3 s
#   box_24.mkv         a white box moving over blue, 24 fps, 4 s, Matroska (1 ms time base)
#   odd_444.mkv        testsrc2 333x199 yuv444p (odd size, no chroma subsampling), 3 s
#   offset.ts          MPEG-TS (start time 1.4 s), 25 fps, 4 s
#   upright.mp4        lossless (qp 0) testsrc2 320x240, 3 s: the unrotated source
#   rot90.mp4 rot180.mp4 rot270.mp4
#                      upright.mp4 turned the other way in the pixels plus display
#                      rotation metadata of 90/180/270 degrees, so they display upright
#   rot90_422.mp4      4:2:2 (planes that cannot be transposed as they are), rotate=90 tag
#   vfr.mkv            variable frame rate: 2 s of frames, then a 5 s timestamp gap
#   one_frame.mp4      a single frame
#   late_video.mkv     6 s of audio from 0 s, 4 s of video (25 fps) starting at 2.3 s
#   no_media.mkv       a Matroska header and nothing else (no frames were written)
#   no_video_packets.mkv  a video track without a single packet, beside an audio track
#   all_damaged.mkv    cfr25_5s.mp4 with every video packet filled with noise
set -eu
OUT="${1:?usage: $0 OUTDIR}"
mkdir -p "$OUT"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
x264="-c:v libx264 -preset veryfast -pix_fmt yuv420p"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 5 $x264 -bf 3 -g 50 "$OUT/cfr25_5s.mp4"
ff -f lavfi -i testsrc=size=352x288:rate=30000/1001 -t 4.5 $x264 "$OUT/ntsc_4_5s.mp4"
ff -f lavfi -i testsrc2=size=240x320:rate=30 -t 7.3 $x264 "$OUT/portrait_7_3s.mp4"
ff -f lavfi -i "color=c=blue:size=320x240:rate=24,drawbox=x='mod(t*80,280)':y=60:w=40:h=40:c=white:t=fill" \
   -t 4 $x264 "$OUT/box_24.mkv"
ff -f lavfi -i testsrc2=size=333x199:rate=25 -t 3 -c:v libx264 -preset veryfast -pix_fmt yuv444p "$OUT/odd_444.mkv"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 4 $x264 -f mpegts "$OUT/offset.ts"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 3 -c:v libx264 -preset veryfast -qp 0 -pix_fmt yuv420p "$OUT/upright.mp4"
# rotNNN.mp4: tag a copy with rotate=NNN, ask ffprobe which display matrix that gave
# (the meaning of the legacy "rotate" tag has changed between FFmpeg versions), then
# store the picture turned so that applying that matrix brings it back upright.
rotated() {
  local tag=$1 r vf
  ff -i "$OUT/upright.mp4" -c copy -metadata:s:v:0 rotate="$tag" "$OUT/.probe.mp4"
  r=$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation \
      -of default=nw=1:nk=1 "$OUT/.probe.mp4" | head -1)
  r=${r%.*}
  r=$(( ( (${r:-0} % 360) + 360 ) % 360 ))
  case $r in
    90) vf=transpose=clock ;;
    180) vf=hflip,vflip ;;
    270) vf=transpose=cclock ;;
    *) echo "make_synthetic.sh: rotate=$tag gave no usable display matrix ($r)" >&2; exit 1 ;;
  esac
  ff -i "$OUT/upright.mp4" -vf "$vf" -c:v libx264 -preset veryfast -qp 0 -pix_fmt yuv420p "$OUT/.rot.mp4"
  ff -i "$OUT/.rot.mp4" -c copy -metadata:s:v:0 rotate="$tag" "$OUT/rot$tag.mp4"
  rm -f "$OUT/.probe.mp4" "$OUT/.rot.mp4"
}
rotated 90
rotated 180
rotated 270
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -c:v libx264 -preset veryfast -pix_fmt yuv422p "$OUT/.r422.mp4"
ff -i "$OUT/.r422.mp4" -c copy -metadata:s:v:0 rotate=90 "$OUT/rot90_422.mp4"
rm -f "$OUT/.r422.mp4"
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=4 -vf "setpts='if(lt(T,2),PTS,PTS+5/TB)'" \
   -fps_mode vfr $x264 "$OUT/vfr.mkv"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -frames:v 1 $x264 "$OUT/one_frame.mp4"
ff -f lavfi -i sine=frequency=440:duration=6 -itsoffset 2.3 -f lavfi -i testsrc2=size=320x240:rate=25:duration=4 \
   -map 1:v -map 0:a $x264 -c:a aac "$OUT/late_video.mkv"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -frames:v 0 -c:v libx264 "$OUT/no_media.mkv"
ff -i "$OUT/cfr25_5s.mp4" -f lavfi -i sine=duration=2 -map 0:v -map 1:a -c:v copy -c:a aac \
   -bsf:v noise=dropamount=1 "$OUT/no_video_packets.mkv"
ff -i "$OUT/cfr25_5s.mp4" -c copy -bsf:v noise=amount=1 "$OUT/all_damaged.mkv"
touch "$OUT/.done"
