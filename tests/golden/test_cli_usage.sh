#!/usr/bin/env bash
# test_cli_usage.sh - usage errors (docs/errors.md, "Usage errors"): for every command,
# a bad invocation (a bad number, a bad choice, a missing required option, an unknown
# option, an option without its value) exits 2 with nothing on stdout and exactly two
# lines on stderr: "vidsim CMD: ..." naming the option (and the bad value), then
# "Try 'vidsim CMD --help'."; --help prints the usage on stdout and exits 0; each
# `index` subcommand's --help describes only that subcommand. Needs no model or video.
set -u
BIN=${VS_BIN:-build/vidsim}
TMP=${VS_TMP:-build/tmp}/cli_usage
pass=0; fail=0
ok() { pass=$((pass+1)); }
bad() { fail=$((fail+1)); echo "FAIL: $*" >&2; }
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
rm -rf "$TMP"; mkdir -p "$TMP"

# usage_err CMD-NAME EXPECTED-SUBSTRING ARGS...: exit 2, empty stdout, 2 lines on stderr
usage_err() {
  local name=$1 want=$2; shift 2
  "$BIN" "$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
  local lines; lines=$(wc -l < "$TMP/err")
  local first; first=$(head -n 1 "$TMP/err")
  if [ $rc -eq 2 ] && [ ! -s "$TMP/out" ] && [ "$lines" -eq 2 ] \
     && [[ "$first" == "vidsim${name:+ $name}: "* ]] && grep -qF -- "$want" <<< "$first" \
     && [ "$(sed -n 2p "$TMP/err")" = "Try 'vidsim${name:+ $name} --help'." ]; then ok
  else bad "vidsim $*: rc=$rc stdout=$(wc -c < "$TMP/out")B stderr: $(cat "$TMP/err")"; fi
}
# help_ok WANT ARGS...: exit 0, usage on stdout containing WANT, nothing on stderr
help_ok() {
  local want=$1; shift
  "$BIN" "$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
  [ $rc -eq 0 ] && [ ! -s "$TMP/err" ] && grep -qF -- "$want" "$TMP/out" && ok \
    || bad "vidsim $*: rc=$rc, stdout lacks '$want' or stderr not empty: $(cat "$TMP/err")"
}

# search
usage_err search "-j must be a positive whole number, got '0'" search -j 0 --index "$TMP/i" q
usage_err search "--format must be csv or jsonl, got 'xml'" search --format xml --index "$TMP/i" q
usage_err search "--index DIR is required" search q
usage_err search "--top must be a whole number >= 0, got 'abc'" search --index "$TMP/i" --top abc q
usage_err search "-j must be a positive whole number, got '2x'" search --index "$TMP/i" -j 2x q
usage_err search "--threshold must be a finite number, got 'nan'" search --index "$TMP/i" --threshold nan q
usage_err search "--threshold must be a finite number, got '0.5x'" search --index "$TMP/i" --threshold 0.5x q
usage_err search "unknown option '--bogus'" search --index "$TMP/i" --bogus q
usage_err search "--top needs a value" search --index "$TMP/i" q --top
usage_err search "--top-k must be a positive whole number, got '0'" search --index "$TMP/i" --two-stage --top-k 0 q
usage_err search "--direction must be sym or q2r, got 'up'" search --index "$TMP/i" --direction up q
usage_err search "no QUERY" search --index "$TMP/i"
usage_err search "--top must be a whole number >= 0, got '-1'" search --index "$TMP/i" --model clip --top -1 q
usage_err search "--top must be a whole number from 0 to 2147483647, got '99999999999'" search --index "$TMP/i" --top 99999999999 q
help_ok "--two-stage" search --help
help_ok "--two-stage" help search
# dedup
usage_err dedup "--index DIR is required" dedup
usage_err dedup "--threshold must be a finite number, got 'inf'" dedup --index "$TMP/i" --threshold inf
usage_err dedup "unexpected argument 'x'" dedup --index "$TMP/i" x
usage_err dedup "-j must be a positive whole number, got ''" dedup --index "$TMP/i" -j ""
help_ok "usage: vidsim dedup" dedup --help
# compare
usage_err compare "--format must be text or json, got 'xml'" compare a b --format xml
usage_err compare "needs two inputs" compare a
usage_err compare "unknown option '-x'" compare a b -x
help_ok "usage: vidsim compare" compare --help
# extract
usage_err extract "-o OUTDIR is required" extract a.mp4
usage_err extract "--fps must be a positive number, got '0'" extract a.mp4 -o "$TMP/f" --fps 0
usage_err extract "--threads must be a positive whole number, got '1.5'" extract a.mp4 -o "$TMP/f" --threads 1.5
usage_err extract "--backbone must be inception or mobilenet, got 'vgg'" extract a.mp4 -o "$TMP/f" --backbone vgg
help_ok "usage: vidsim extract" extract --help
# index and its subcommands
usage_err index "no COMMAND given" index
usage_err index "unknown command 'frob'" index frob --index "$TMP/i"
usage_err "index add" "-j must be a positive whole number, got '0'" index add --index "$TMP/i" -j 0 a.mp4
usage_err "index add" "--fps must be a positive number, got 'fast'" index add --index "$TMP/i" --fps fast a.mp4
usage_err "index add" "--index DIR is required" index add a.mp4
usage_err "index add" "no PATH given" index add --index "$TMP/i"
usage_err "index rm" "no PATH or NAME given" index rm --index "$TMP/i"
usage_err "index ls" "--format must be csv or jsonl, got 'xml'" index ls --index "$TMP/i" --format xml
usage_err "index ls" "unexpected argument 'x'" index ls --index "$TMP/i" x
usage_err "index verify" "'--fps' is not an option of index verify" index verify --index "$TMP/i" --fps 2
usage_err "index info" "unknown option '--bogus'" index info --index "$TMP/i" --bogus
usage_err "index hash" "-j must be a positive whole number, got '-3'" index hash --index "$TMP/i" -j -3
usage_err "index rebuild" "--index needs a value" index rebuild --index
help_ok "rm PATH|NAME" index --help
help_ok "add PATH" index add --help
help_ok "--hash-model" help index hash
for s in rm ls verify info hash rebuild; do help_ok "usage: vidsim index $s" index "$s" --help; done
"$BIN" index add --help > "$TMP/add_help" 2>&1
grep -q "verify" "$TMP/add_help" && bad "index add --help mentions verify: $(cat "$TMP/add_help")" || ok
grep -q -- "--repair\|rebuild" "$TMP/add_help" && bad "index add --help describes other subcommands" || ok
[ -e "$TMP/i" ] && bad "a usage error created the index $TMP/i" || ok
# eval
usage_err eval "--pred FILE is required" eval --gt gt.csv
usage_err eval "--format must be text, json or csv, got 'xml'" eval --gt g --pred p --format xml
usage_err eval "--ties must be input or pessimistic, got 'x'" eval --gt g --pred p --ties x
usage_err eval "--gt needs a value" eval --pred p --gt
help_ok "usage: vidsim eval" eval --help
# pca
usage_err pca "--dim must be a positive whole number, got '0'" pca --features x -o o --dim 0
usage_err pca "--eps must be a number >= 0, got 'tiny'" pca --features x -o o --eps tiny
usage_err pca "-o FILE is required" pca --features x
help_ok "usage: vidsim pca" pca --help
# train
usage_err train "--batch must be a whole number >= 2, got '0'" train --batch 0 -o x
usage_err train "--iters must be a positive whole number, got '10k'" train --videos v -o x --iters 10k
usage_err train "--lr must be a positive number, got '-1'" train --videos v -o x --lr -1
usage_err train "--seed must be a whole number" train --videos v -o x --seed 12abc
usage_err train "--views must be three whole numbers" train --videos v -o x --views 2,4
usage_err train "--clip must be a whole number from 4 to" train --videos v -o x --clip 3
usage_err train "-o MODEL is required" train --videos v
help_ok "usage: vidsim train" train --help
# train-hash
usage_err train-hash "--bits must be 64, 128 or 256, got '32'" train-hash --features f -o x --bits 32
usage_err train-hash "--mask-ratio must be a number from 0 to 1, got '2'" train-hash --features f -o x --mask-ratio 2
usage_err train-hash "--features DIR or --videos DIR is required" train-hash -o x
help_ok "usage: vidsim train-hash" train-hash --help
# train-clip
usage_err train-clip "--pool must be cls or mean, got 'max'" train-clip --features f -o x --pool max
usage_err train-clip "--stage must be predmae, fcs or both, got 'x'" train-clip --features f -o x --stage x
usage_err train-clip "--width must be a positive whole number, got '0x10'" train-clip --features f -o x --width 0x10
help_ok "usage: vidsim train-clip" train-clip --help
# train-gvec
usage_err train-gvec "--shrink must be a positive number, got '0'" train-gvec --videos v -o x --shrink 0
usage_err train-gvec "--pairs must be a whole number from 1 to 100000, got '0'" train-gvec --videos v -o x --pairs 0
usage_err train-gvec "-o FILE is required" train-gvec --videos v
usage_err train-gvec "--videos DIR|FILE... is required" train-gvec -o x
usage_err train-gvec "--backbone must be inception or mobilenet, got 'vgg'" train-gvec --videos v -o x --backbone vgg
help_ok "usage: vidsim train-gvec" train-gvec --help
# the tool itself
usage_err "" "no COMMAND given"
usage_err "" "unknown command 'frob'" frob
help_ok "commands:" --help
help_ok "commands:" help

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
