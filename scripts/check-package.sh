#!/usr/bin/env bash
# The .deb as a user meets it: builds it (cpack in build/release), installs it with apt-get, runs
# the installed programs (basin-cli --version, a small merge, basin --version offscreen), checks
# that its declared dependencies provide every shared library those programs load, validates
# the desktop entry, the AppStream metadata, the man page and the bash completion, then removes
# it and checks that none of its files is left. Needs root or sudo; CI runs it after
# scripts/test.sh (which installs the tools it uses and builds build/release).
#   scripts/check-package.sh              package build/release, then check the package
#   scripts/check-package.sh FILE.deb     check a package built elsewhere
set -euo pipefail  # (so no 'producer | grep -q': an early exit would fail the producer)
cd "$(dirname "$0")/.."
src=$PWD
t0=$SECONDS

say() { echo "check-package: $*"; }
fail() {
  echo "check-package: FAIL: $*" >&2
  exit 1
}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_get() { DEBIAN_FRONTEND=noninteractive $SUDO apt-get -y -qq -o Dpkg::Use-Pty=0 "$@"; }
installed() { dpkg-query -W -f='${db:Status-Abbrev}' basin 2>/dev/null | grep '^ii' >/dev/null; }

[ $# -le 1 ] || fail "usage: scripts/check-package.sh [FILE.deb]"
for tool in dpkg-deb apt-get desktop-file-validate appstreamcli groff bash; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (scripts/setup.sh --deps installs it)"
done

tmp=$(mktemp -d)
cleanup() {
  # A check that stops halfway does not leave the package installed.
  if [ -n "${we_installed:-}" ] && installed; then apt_get remove basin >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the package ---------------------------------------------------------------------------
if [ $# -eq 1 ]; then
  [ -f "$1" ] || fail "no such file: $1"
  deb=$(realpath "$1")
else
  [ -f build/release/build.ninja ] || fail "build/release is not configured (run scripts/setup.sh)"
  cmake --build build/release --target basin basin-cli basin-cli-docs >/dev/null
  rm -f build/release/basin_*.deb
  (cd build/release && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
  debs=(build/release/basin_*.deb)
  [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single basin_*.deb"
  deb=$(realpath "${debs[0]}")
fi
[ "$(dpkg-deb -f "$deb" Package)" = basin ] || fail "$deb is not the basin package"
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
say "$(basename "$deb") ($(du -k "$deb" | cut -f1) KiB), Depends: $depends"
# Its regular files and links, as installed paths.
mapfile -t files < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -n 's|^\./|/|; /[^/]$/p')
for f in /usr/bin/basin /usr/bin/basin-cli /usr/share/man/man1/basin-cli.1.gz \
  /usr/share/bash-completion/completions/basin-cli /usr/share/applications/basin.desktop \
  /usr/share/metainfo/io.github.basin.Basin.metainfo.xml \
  /usr/share/icons/hicolor/scalable/apps/basin.svg; do
  printf '%s\n' "${files[@]}" | grep -xF "$f" >/dev/null || fail "the package lacks $f"
done

# ---- install -------------------------------------------------------------------------------
if installed; then
  say "removing the basin already installed ($(dpkg-query -W -f='${Version}' basin)) first"
  apt_get remove basin >/dev/null
fi
we_installed=1
apt_get install "$deb" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get install $deb"; }
installed || fail "basin is not installed after apt-get install"
for f in "${files[@]}"; do
  [ -e "$f" ] || fail "installed package lacks $f"
done

# ---- run the installed programs --------------------------------------------------------------
# LD_DEBUG records every object the dynamic loader maps, dlopen'ed Qt plugins included.
export XDG_RUNTIME_DIR=$tmp/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
traced() { LD_DEBUG=files LD_DEBUG_OUTPUT=$tmp/ld "$@"; }
out=$(traced /usr/bin/basin-cli --version)
[ "$out" = "basin-cli $version" ] || fail "basin-cli --version printed '$out', not 'basin-cli $version'"
traced /usr/bin/basin-cli -q sample --shape tiny -n 2 --ranks 2,4 --seed 1 -o "$tmp/set" >/dev/null
traced /usr/bin/basin-cli -q merge -m ties -d 0.5 "$tmp/set/sample-a" "$tmp/set/sample-b" \
  -o "$tmp/merged" --json >"$tmp/merge.json"
grep -q '"modules": 14' "$tmp/merge.json" || fail "merge summary: $(cat "$tmp/merge.json")"
/usr/bin/basin-cli inspect --json "$tmp/merged" | grep '"r": 6' >/dev/null ||
  fail "the merged adapter is not rank 2 + 4"
out=$(QT_QPA_PLATFORM=offscreen traced /usr/bin/basin --version 2>&1)
[ "$out" = "Basin $version" ] || fail "basin --version (offscreen) printed '$out', not 'Basin $version'"
say "basin-cli --version, sample + ties merge + inspect, basin --version (offscreen): ok"

# ---- dependencies --------------------------------------------------------------------------
# Installed packages reachable from a Depends line: every installed alternative of a clause and
# every installed provider of a virtual name (libblas.so.3) counts.
closure() {
  dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Provides}\t${Depends}, ${Pre-Depends}\n' |
    awk -F'\t' -v roots="$1" '
      function bare(s) { sub(/\(.*/, "", s); sub(/:[a-z0-9]+ *$/, "", s); gsub(/[ \t]/, "", s); return s }
      function visit(line,   n, clauses, i, m, alts, j, p, k, who) {
        n = split(line, clauses, ",")
        for (i = 1; i <= n; i++) {
          m = split(clauses[i], alts, "|")
          for (j = 1; j <= m; j++) {
            p = bare(alts[j]); if (p == "") continue
            if (p in deps && !(p in seen)) { seen[p] = 1; queue[++tail] = p }
            if (p in providers) {
              k = split(providers[p], who, " ")
              for (; k > 0; k--) if (!(who[k] in seen)) { seen[who[k]] = 1; queue[++tail] = who[k] }
            }
          }
        }
      }
      $1 ~ /^ii/ {
        deps[$2] = $4
        n = split($3, prov, ",")
        for (i = 1; i <= n; i++) { v = bare(prov[i]); if (v != "") providers[v] = providers[v] " " $2 }
      }
      END {
        visit(roots)
        for (head = 1; head <= tail; head++) { print queue[head]; visit(deps[queue[head]]) }
      }'
}
# Every object the programs map: ldd's view of both programs and the traced runs' (plugins).
{
  ldd /usr/bin/basin /usr/bin/basin-cli | awk '/:$/ { next } /not found/ { print "MISSING " $1; next }
    $2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'
  cat "$tmp"/ld.* | sed -n 's/.*calling init: \(\/.*\)$/\1/p'
} | sort -u | grep -v -e '^/usr/bin/basin$' -e '^/usr/bin/basin-cli$' >"$tmp/objects"
if grep '^MISSING' "$tmp/objects"; then fail "libraries not found (above)"; fi
# Their owners, from one dpkg-query: each path, its real path, and their /usr-merged twins.
mapfile -t objects <"$tmp/objects"
mapfile -t reals < <(realpath -- "${objects[@]}")
declare -A candidates_of owner_of object_owners
for i in "${!objects[@]}"; do
  for c in "${objects[i]}" "${reals[i]}"; do
    case $c in
      /usr/lib/*) candidates_of[${objects[i]}]+=" $c /lib/${c#/usr/lib/}" ;;
      /lib/*) candidates_of[${objects[i]}]+=" $c /usr/lib/${c#/lib/}" ;;
      *) candidates_of[${objects[i]}]+=" $c" ;;
    esac
  done
done
printf '%s\n' ${candidates_of[@]} | sort -u | xargs -d '\n' dpkg-query -S 2>/dev/null |
  grep -v '^diversion' | awk '{ i = index($0, ": /"); pk = substr($0, 1, i - 1)
    gsub(/:[a-z0-9]+/, "", pk); gsub(/,/, " ", pk); print substr($0, i + 2) "\t" pk }' \
  >"$tmp/owners" || true
while IFS=$'\t' read -r path pkgs; do owner_of[$path]=$pkgs; done <"$tmp/owners"
for f in "${objects[@]}"; do
  object_owners[$f]=""
  for c in ${candidates_of[$f]}; do
    for o in ${owner_of[$c]:-}; do
      [[ " ${object_owners[$f]} " == *" $o "* ]] || object_owners[$f]+=" $o"
    done
  done
done
# Prints the objects whose owner is not reachable from the Depends line $1.
uncovered() {
  local -A reachable=()
  local p f o ok
  while read -r p; do reachable[$p]=1; done < <(closure "$1")
  for f in "${!object_owners[@]}"; do
    ok=""
    for o in ${object_owners[$f]}; do [ -n "${reachable[$o]:-}" ] && ok=1; done
    [ -n "$ok" ] || echo "$f (package:${object_owners[$f]:- none})"
  done
}
missing=$(uncovered "$depends")
[ -z "$missing" ] || fail "Depends ($depends) do not provide:
$missing"
# The check itself must see a dependency go missing: drop the package of libtorch_cpu.
torch_pkg=$(grep -m1 '/libtorch_cpu\.so' "$tmp/owners" | cut -f2)
[ -n "$torch_pkg" ] || fail "no package owns libtorch_cpu.so"
reduced=$(echo "$depends" | tr ',' '\n' | grep -v "^ *$torch_pkg\( \|$\)" | paste -sd, -)
[[ $(uncovered "$reduced") == *libtorch_cpu* ]] ||
  fail "the dependency check did not notice $torch_pkg missing from Depends"
say "Depends provide all $(wc -l <"$tmp/objects") shared objects the programs load (ldd + LD_DEBUG)"

# ---- desktop entry, AppStream, man page, completion ------------------------------------------
desktop=/usr/share/applications/basin.desktop
desktop-file-validate "$desktop" >"$tmp/desktop.log" 2>&1 || true
[ ! -s "$tmp/desktop.log" ] || fail "desktop-file-validate: $(cat "$tmp/desktop.log")"
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
[ -x "/usr/bin/$exec_bin" ] || fail "the desktop entry runs '$exec_bin', which is not in /usr/bin"
icon=$(sed -n 's/^Icon=//p' "$desktop")
[ -f "/usr/share/icons/hicolor/scalable/apps/$icon.svg" ] || fail "no icon '$icon' installed"

metainfo=/usr/share/metainfo/io.github.basin.Basin.metainfo.xml
appstreamcli validate --no-net "$metainfo" >"$tmp/appstream.log" 2>&1 ||
  fail "appstreamcli validate: $(cat "$tmp/appstream.log")"
grep -q "<launchable type=\"desktop-id\">$(basename "$desktop")</launchable>" "$metainfo" ||
  fail "the metainfo does not launch $(basename "$desktop")"
release=$(grep -o '<release [^>]*version="[^"]*"' "$metainfo" | sed -n '1s/.*version="//; 1s/"$//p' || true)
[ "$release" = "$version" ] || fail "the metainfo's newest release is '$release', not $version"
sed -n '/<release /,/<\/release>/p' "$metainfo" | grep '<description>' >/dev/null ||
  fail "the metainfo's release $release has no release notes"
shots=$(grep -o '<image[^>]*>[^<]*</image>' "$metainfo" | sed 's/<[^>]*>//g' || true)
[ -n "$shots" ] || fail "the metainfo has no screenshots"
for url in $shots; do
  [ -f "$src/docs/screenshots/$(basename "$url")" ] ||
    fail "screenshot $url is not a file in docs/screenshots"
done

man_page=/usr/share/man/man1/basin-cli.1.gz
if command -v man >/dev/null; then
  [ "$(man -w basin-cli)" = "$man_page" ] || fail "man -w basin-cli finds '$(man -w basin-cli)'"
fi
zcat "$man_page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z >"$tmp/man.log" 2>&1 || true
[ ! -s "$tmp/man.log" ] || fail "the man page has groff warnings: $(cat "$tmp/man.log")"
zcat "$man_page" | grep '^\.SS "merge"' >/dev/null || fail "the man page lacks the merge command"
completed=$(bash -c 'source /usr/share/bash-completion/completions/basin-cli
  fn=$(complete -p basin-cli | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
  COMP_WORDS=(basin-cli merge --method t); COMP_CWORD=3; "$fn"; echo "${COMPREPLY[*]}"')
[ "$completed" = "task_arithmetic ties ties_svd" ] ||
  fail "bash completion of 'basin-cli merge --method t' gave '$completed'"
say "desktop entry, AppStream metadata ($(echo "$shots" | wc -w) screenshots, release $release), man page, bash completion: valid"

# ---- remove --------------------------------------------------------------------------------
apt_get remove basin >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get remove basin"; }
status=$(dpkg-query -W -f='${db:Status-Status}' basin 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "after removal dpkg says basin is '$status'"
if dpkg -L basin >/dev/null 2>&1; then fail "dpkg -L basin still lists files"; fi
for f in "${files[@]}"; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || fail "removal left $f behind"
done
say "removed; none of its ${#files[@]} files is left"
say "ok in $((SECONDS - t0)) s"
