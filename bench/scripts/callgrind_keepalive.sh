#!/usr/bin/env bash
# Userspace instructions per request of `coreline serve` answering /plaintext on keep-alive
# connections WITHOUT pipelining, counted by callgrind (repeatable on a busy machine).
#
# Like callgrind_plaintext.sh, but h2load keeps one request in flight per connection on 64
# connections (`-m 1 -c 64`): every request is its own receive, its own send and, mostly, its
# own wake-up of the loop, so the profile shows the runtime's per-completion cost and the
# connection driver's I/O path rather than the HTTP work.
#
# usage: bench/scripts/callgrind_keepalive.sh N [OUT]
#   OUT: also write the callgrind_annotate profile (top 40 functions, exclusive) to OUT,
#        with this command at its top.
#   KEEP=FILE in the environment: keep the raw callgrind profile as FILE.
# Needs valgrind, h2load, curl. Build first: cargo build --release -p coreline-http --bin coreline
set -euo pipefail
MODE=keepalive SCRIPT_NAME=$(basename "$0") exec "$(dirname "$0")/callgrind_plaintext.sh" "$@"
