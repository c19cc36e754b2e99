# Run by the migrate_assess role as: /bin/sh -c "$(cat collect.sh)" migrate-collect OUT PYTHON [ARGS...]
# with the collector's source on stdin. Writes the facts JSON to OUT. PYTHON empty: the
# first of platform-python (EL8), python3, python2 (EL7), as `migrate fleet scan` does.
out=$1; py=$2; shift 2
if [ -n "$py" ]; then exec "$py" - "$@" > "$out"; fi
for p in /usr/libexec/platform-python python3 python2; do
  case "$p" in
    /*) [ -x "$p" ] && exec "$p" - "$@" > "$out" ;;
    *) command -v "$p" >/dev/null 2>&1 && exec "$p" - "$@" > "$out" ;;
  esac
done
echo "migrate: no python on this host (tried /usr/libexec/platform-python, python3, python2)" >&2
exit 97
