# Shared by callgrind_plaintext.sh and callgrind_proxy.sh (sourced, not run): the
# measurement once the server runs under valgrind.
#
# callgrind_count VG PORT PATH WHAT SETUP [H2LOAD_ARG...]
#   VG: valgrind's pid; PORT, PATH: what h2load asks for; WHAT: the printed label;
#   SETUP: the line describing the run, written into OUT.
#   Uses n, out and work from the caller; honours KEEP=FILE (the raw profile).
# Waits until PATH answers, sends n/10 requests as a warm-up, zeroes the counters, sends n
# more from CPU 1, dumps the counters, kills valgrind, and prints (and writes to OUT, with
# the top 40 functions, exclusive) the instructions per request.

free_port() {
    python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"
}

callgrind_count() {
    local vg=$1 port=$2 path=$3 what=$4 setup=$5
    shift 5
    local url="http://127.0.0.1:$port$path"
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "$url" && break
        sleep 0.2
    done
    taskset -c 1 h2load --h1 "$@" -n $((n / 10)) "$url" >/dev/null
    callgrind_control -z "$vg" >/dev/null
    local done_line
    done_line=$(taskset -c 1 h2load --h1 "$@" -n "$n" "$url" | grep '^requests:')
    callgrind_control -d "$vg" >/dev/null
    sleep 1
    kill -9 "$vg"
    wait "$vg" 2>/dev/null || true
    local dump total per
    dump=$(ls -t "$work"/cg* | grep -v '^$' | head -1)
    total=$(grep -h '^summary' "$dump" | awk '{print $2}')
    if [ -n "${KEEP:-}" ]; then cp "$dump" "$KEEP"; fi # the raw profile, for callgrind_annotate
    per=$(awk -v t="$total" -v n="$n" 'BEGIN {printf "%.0f", t / n}')
    echo "$what, $n requests ($done_line): $total instructions, $per per request"
    if [ -n "$out" ]; then
        {
            echo "# bench/scripts/${SCRIPT_NAME:-$(basename "$0")} $n $out"
            echo "# $setup; load: taskset -c 1 h2load --h1 $* -n $n ...$path after a warm-up of $((n / 10)), counters zeroed in between"
            echo "# $done_line"
            echo "# $total instructions, $per per request (userspace only); callgrind_annotate --inclusive=no, top 40 (paths shortened)"
            # (Without --threshold=100 this callgrind_annotate lists only the thread's entry.)
            callgrind_annotate --inclusive=no --threshold=100 "$dump" |
                sed -n '/file:function/,$p' | grep -v '(100.0%)' |
                sed -E "s#[^ ]*/registry/src/[^/]*/##g; s#/rustc/[0-9a-f]+/##g; s#$PWD/##g" |
                grep -v '^$' | head -42
        } >"$out"
    fi
}
