#!/bin/sh
# split_manpages.sh VIDSIM_1 COMMANDS_DEF OUTDIR - one manual page per command
# (vidsim-search.1, vidsim-index.1, ...) cut from the sections of the one page
# docs/vidsim.1 (each `.SS "vidsim CMD ..."` section becomes vidsim-CMD.1: its title the
# synopsis, its body the description, the command's one-line help from
# tools/cli/commands.def the NAME line), so that `man vidsim-search` works and the text
# has one source. Run at install time (CMakeLists.txt) and by tests/golden/test_install.sh.
set -eu
src=$1; defs=$2; out=$3
mkdir -p "$out"
th=$(sed -n 's/^\.TH VIDSIM 1 "\([^"]*\)" "\([^"]*\)".*/\1|\2/p' "$src")
date=${th%%|*}; ver=${th#*|}
awk -v out="$out" -v date="$date" -v ver="$ver" -v defs="$defs" '
function flush() {
  if (file != "") close(file)
  file = ""
}
BEGIN {
  while ((getline line < defs) > 0) {
    if (line ~ /^VS_CMD\("/) {
      n = split(line, q, "\"")
      help[q[2]] = q[4]
    }
  }
}
/^\.SH / { flush(); in_cmds = ($0 ~ /^\.SH COMMANDS/); next }
in_cmds && /^\.SS "vidsim / {
  flush()
  title = $0; sub(/^\.SS "/, "", title); sub(/"$/, "", title)
  split(title, w, " "); cmd = w[2]; gsub(/\\-/, "-", cmd); sub(/\|.*/, "", cmd)
  if (cmd in seen) { file = ""; next }
  seen[cmd] = 1
  file = out "/vidsim-" cmd ".1"
  up = toupper("vidsim-" cmd); gsub(/-/, "\\-", up)
  name = cmd; gsub(/-/, "\\-", name)
  h = (cmd in help) ? help[cmd] : "a command of vidsim"
  gsub(/-/, "\\-", h)
  print ".\\\" vidsim-" cmd ".1 - cut from docs/vidsim.1 by scripts/split_manpages.sh; edit that page." > file
  print ".TH " up " 1 \"" date "\" \"" ver "\" \"User Commands\"" > file
  print ".nh" > file
  print ".SH NAME" > file
  print "vidsim\\-" name " \\- " h > file
  print ".SH SYNOPSIS" > file
  print ".B " title > file
  print ".SH DESCRIPTION" > file
  next
}
file != "" { print > file }
END { flush() }
' "$src"
for f in "$out"/vidsim-*.1; do
  printf '.SH "SEE ALSO"\n.BR vidsim (1)\n' >> "$f"
done
