# Run by the migrate_assess role as: /bin/sh -c "$(cat collect.sh)" migrate-collect DIR PYTHON [ARGS...]
# with the collector's source on stdin. Makes DIR (mode 0700; fails if anything is already
# there, a symlink included) and writes the facts JSON to DIR/facts.json; on a failure it
# removes DIR itself (the role's cleanup task removes it after the fetch in any case).
# PYTHON empty: the first of platform-python (EL8), python3, python2 (EL7), as `migrate fleet
# scan` does.
dir=$1; py=$2; shift 2
mkdir -m 0700 "$dir" || exit 98
run() {
  "$@" > "$dir/facts.json"
  rc=$?
  [ "$rc" -eq 0 ] || rm -rf "$dir"
  exit "$rc"
}
if [ -n "$py" ]; then run "$py" - "$@"; fi
for p in /usr/libexec/platform-python python3 python2; do
  case "$p" in
    /*) [ -x "$p" ] && run "$p" - "$@" ;;
    *) command -v "$p" >/dev/null 2>&1 && run "$p" - "$@" ;;
  esac
done
rm -rf "$dir"
echo "migrate: no python on this host (tried /usr/libexec/platform-python, python3, python2)" >&2
exit 97
