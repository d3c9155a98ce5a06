#!/usr/bin/env bash
# test_install.sh - `cmake --install` of the build into a temporary prefix: the binary,
# static library, headers, models, man page, bash completion and vidsim.pc land where
# README "Install" says; the installed binary, run from another directory with
# VIDSIM_MODELS unset, finds the installed models (extracts a tiny synthetic clip with
# --backbone mobilenet); a missing model's error lists the places tried and names
# VIDSIM_MODELS; a C program using vs_version() builds with
# `pkg-config --cflags --libs --static vidsim` against the installed library and runs;
# the man page renders without warnings (man or groff, if installed); the completion
# script parses and registers `complete -p vidsim`.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/install
MODELS=${VS_MODELS:-models}
SRC=${VS_SRC:-.}
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
BUILD=$(cd "$(dirname "$BIN")" && pwd)
[ -f "$BUILD/cmake_install.cmake" ] || { echo "SKIP: $BUILD has no install rules (cmake_install.cmake)"; exit 77; }
[ -f "$BUILD/libvidsim.a" ] || { echo "SKIP: $BUILD/libvidsim.a not built"; exit 77; }
command -v cmake >/dev/null || { echo "SKIP: no cmake"; exit 77; }
[ -r "$MODELS/mobilenet_v2.vstf" ] || { echo "SKIP: no weights (run scripts/fetch_weights.sh)"; exit 77; }
command -v ffmpeg >/dev/null || { echo "SKIP: no ffmpeg"; exit 77; }
unset VIDSIM_MODELS
TMP=$(mkdir -p "$TMP" && cd "$TMP" && pwd)
rm -rf "$TMP"; mkdir -p "$TMP/elsewhere"
P=$TMP/prefix

cmake --install "$BUILD" --prefix "$P" >"$TMP/install.log" 2>&1 && ok || bad "cmake --install: $(tail -5 "$TMP/install.log")"
for f in bin/vidsim lib/libvidsim.a include/vidsim/vidsim.h include/vidsim/index.h \
         share/vidsim/models/README.md share/vidsim/models/mobilenet_v2.vstf \
         share/vidsim/models/pca_mobilenet_v2.vstf share/man/man1/vidsim.1 \
         share/bash-completion/completions/vidsim lib/pkgconfig/vidsim.pc; do
  [ -f "$P/$f" ] && ok || bad "not installed: $f"
done
[ -x "$P/bin/vidsim" ] && ok || bad "bin/vidsim not executable"
for h in "$SRC"/include/vidsim/*.h; do
  [ -f "$P/include/vidsim/$(basename "$h")" ] || bad "header not installed: $(basename "$h")"
done
for m in "$MODELS"/*.vstf; do
  [ -f "$P/share/vidsim/models/$(basename "$m")" ] || bad "model not installed: $(basename "$m")"
done
[ -e "$P/share/vidsim/models/npm" ] && bad "models/npm installed" || ok

# the installed binary, from elsewhere, without VIDSIM_MODELS: finds the installed models
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=2 -pix_fmt yuv420p "$TMP/elsewhere/clip.mp4"
( cd "$TMP/elsewhere" && "$P/bin/vidsim" extract clip.mp4 -o feats --backbone mobilenet -j 1 ) >"$TMP/ex.out" 2>"$TMP/ex.err" \
  && ok || bad "installed binary from another directory: $(cat "$TMP/ex.err")"
[ -s "$TMP/elsewhere/feats/clip.mp4.vsf" ] && ok || bad "no feature file from the installed binary"
"$P/bin/vidsim" version | grep -q "^vidsim " && ok || bad "installed vidsim version"

# a binary whose models are nowhere: the error lists the places and names VIDSIM_MODELS
CONF_PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
mkdir -p "$TMP/bare/bin"; cp "$P/bin/vidsim" "$TMP/bare/bin/vidsim"
if [ -r "$CONF_PREFIX/share/vidsim/models/mobilenet_v2.vstf" ]; then
  echo "note: $CONF_PREFIX has installed models, missing-model message not checked"
else
( cd "$TMP/elsewhere" && "$TMP/bare/bin/vidsim" extract clip.mp4 -o feats2 --backbone mobilenet -j 1 ) >/dev/null 2>"$TMP/miss.err" \
  && bad "extract without models succeeded (compiled-in prefix has models?)" || ok
grep -q "VIDSIM_MODELS" "$TMP/miss.err" && ok || bad "missing-model error does not name VIDSIM_MODELS: $(cat "$TMP/miss.err")"
grep -q "share/vidsim/models" "$TMP/miss.err" && ok || bad "missing-model error does not list the places: $(cat "$TMP/miss.err")"
fi
# and VIDSIM_MODELS fixes it
( cd "$TMP/elsewhere" && VIDSIM_MODELS="$P/share/vidsim/models" "$TMP/bare/bin/vidsim" extract clip.mp4 -o feats3 \
    --backbone mobilenet -j 1 ) >/dev/null 2>"$TMP/env.err" && ok || bad "VIDSIM_MODELS: $(cat "$TMP/env.err")"

# pkg-config and a C program against the installed library
if command -v pkg-config >/dev/null && command -v cc >/dev/null; then
  export PKG_CONFIG_PATH="$P/lib/pkgconfig"
  pkg-config --exists vidsim && ok || bad "pkg-config does not find vidsim: $(pkg-config --print-errors --exists vidsim 2>&1)"
  [ "$(pkg-config --modversion vidsim)" = "$("$P/bin/vidsim" version | cut -d' ' -f2)" ] && ok || bad "pkg-config version"
  flags=$(pkg-config --cflags --libs --static vidsim 2>"$TMP/pc.err") && ok || bad "pkg-config --static: $(cat "$TMP/pc.err")"
  case " $flags " in *" -I$P/include "*|*"-I$P/lib/pkgconfig/../../include"*) ok ;; *) bad "cflags lack the prefix: $flags" ;; esac
  cat > "$TMP/hello.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <vidsim/vidsim.h>
int main(void) {
    const char *v = vs_version();
    printf("%s %s\n", v, vs_strerror(VS_ERR_IO));
    return v && *v ? 0 : 1;
}
EOF
  # a sanitized build installs an instrumented library: link the program the same way
  san=""
  BUILD_DIR=$(dirname "$BIN")
  case "$(grep '^VS_SANITIZE' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)" in
    *=address) san="-fsanitize=address,undefined" ;;
    *=undefined) san="-fsanitize=undefined" ;;
    *=thread) san="-fsanitize=thread" ;;
  esac
  # shellcheck disable=SC2086
  cc -std=c11 $san -o "$TMP/hello" "$TMP/hello.c" $flags 2>"$TMP/cc.err" && ok || bad "cc with pkg-config flags: $(cat "$TMP/cc.err")"
  # with the shared library installed -lvidsim links it: found at run time through the
  # prefix's library folder (a system prefix is on the loader's path already)
  if [ -n "${VS_LIB:-}" ]; then # the build made the shared library: installed with its soname
    [ -e "$(pkg-config --variable=libdir vidsim)/libvidsim.so.0" ] && ok || bad "libvidsim.so.0 not installed"
  fi
  out=$(LD_LIBRARY_PATH="$(pkg-config --variable=libdir vidsim)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$TMP/hello" 2>&1) \
    && ok || bad "hello failed: $out"
  [ "${out%% *}" = "$(pkg-config --modversion vidsim)" ] && ok || bad "hello printed '$out'"
  unset PKG_CONFIG_PATH
else
  echo "note: no pkg-config or cc, library link not checked"
fi

# the man page renders without warnings
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$P/share/man/man1/vidsim.1" 2>"$TMP/groff.err"
  [ ! -s "$TMP/groff.err" ] && ok || bad "groff warnings: $(cat "$TMP/groff.err")"
fi
if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$P/share/man/man1/vidsim.1" 2>"$TMP/man.err" | tr -s ' ' >"$TMP/man.txt"
  [ ! -s "$TMP/man.err" ] && ok || bad "man warnings: $(cat "$TMP/man.err")"
  grep -q "VIDSIM_MODELS" "$TMP/man.txt" && grep -q "EXIT STATUS" "$TMP/man.txt" && ok || bad "man page lacks ENVIRONMENT/EXIT STATUS"
  for c in compare dedup eval extract index pca search thumbs train train-clip train-hash version; do
    grep -q "vidsim $c" "$TMP/man.txt" || bad "man page does not cover $c"
  done
fi

# one page per command of tools/cli/commands.def (vidsim-CMD.1), each rendering cleanly
cmds=$(sed -n 's/^VS_CMD("\([^"]*\)".*/\1/p' "$SRC/tools/cli/commands.def")
for c in $cmds; do
  m=$P/share/man/man1/vidsim-$c.1
  if [ ! -f "$m" ]; then bad "no manual page vidsim-$c.1 (add a '.SS \"vidsim $c ...\"' section to docs/vidsim.1)"; continue; fi
  ok
  if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$m" 2>"$TMP/groff_$c.err"
    [ ! -s "$TMP/groff_$c.err" ] && ok || bad "vidsim-$c.1: groff warnings: $(cat "$TMP/groff_$c.err")"
  fi
  grep -q '^\.SH NAME' "$m" && sed 's/\\-/-/g' "$m" | grep -q "^\.B vidsim $c" && ok || bad "vidsim-$c.1 lacks NAME or SYNOPSIS"
done

# bash completion: every command is offered
C=$P/share/bash-completion/completions/vidsim
got=$(bash -c "source '$C'; COMP_WORDS=(vidsim ''); COMP_CWORD=1; _vidsim; echo \" \${COMPREPLY[*]} \"")
for c in $cmds; do
  case "$got" in *" $c "*) ok ;; *) bad "completion does not offer the command $c" ;; esac
done
bash -n "$C" && ok || bad "completion script does not parse"
bash -c "source '$C' && complete -p vidsim" 2>&1 | grep -q -- "-F _vidsim vidsim" && ok || bad "complete -p vidsim"
got=$(bash -c "source '$C'; COMP_WORDS=(vidsim index a); COMP_CWORD=2; _vidsim; echo \"\${COMPREPLY[*]}\"")
[ "$got" = "add" ] && ok || bad "completion of 'vidsim index a': '$got'"
got=$(bash -c "source '$C'; COMP_WORDS=(vidsim search --two); COMP_CWORD=2; _vidsim; echo \"\${COMPREPLY[*]}\"")
[ "$got" = "--two-stage" ] && ok || bad "completion of 'vidsim search --two': '$got'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
