#!/usr/bin/env bash
# Measures Windows Integrated Authentication against acceptors this project did not write: N
# consecutive full `cmconform run`s per variant, each against a fresh acceptor
# (tests/wia/acceptor.py) in front of one reference server, and prints one table row per
# variant: runs that exited 0, the exit codes seen, and the handshakes the acceptor logged.
# A measurement, not a test (README, "Windows Integrated Authentication" and "Kerberos").
#
#   scripts/measure-auth.sh kerberos [N]   MIT KDC + kinit ticket, python-gssapi acceptor
#   scripts/measure-auth.sh ntlm [N]       pyspnego acceptor, every offer variant, --jobs 1
#                                          and the default
#
# Needs a built binary (CMCONFORM_BIN, default target/debug/cmconform); for kerberos Debian's
# krb5-kdc, krb5-admin-server, krb5-user and python3-gssapi; for ntlm python3 with pyspnego.
# Everything lives in a temporary directory; every process it starts is stopped by its pid.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: measure-auth.sh kerberos|ntlm [N]}
runs=${2:-20}
bin=${CMCONFORM_BIN:-target/debug/cmconform}
[ -x "$bin" ] || { echo "build first: cargo build ($bin is missing)" >&2; exit 2; }
bin=$(realpath "$bin")
for name in $(env | grep -o '^CMCONFORM_[A-Z_]*' || true); do unset "$name"; done
export PATH="$PATH:/usr/sbin:/sbin"
work=$(mktemp -d)
pids=()
cleanup() {
    [ -f "$work/acc.pid" ] && stop "$(cat "$work/acc.pid")"
    for pid in "${pids[@]}"; do stop "$pid"; done
    rm -rf "$work"
}
trap cleanup EXIT

# stop PID: SIGTERM, then SIGKILL if it is still there after 5 s.
stop() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

upstream_port=$(free_port)
credential="Negotiate upstream-credential-of-the-acceptor"
"$bin" serve --port "$upstream_port" --credential "$credential" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$upstream_port") 2>/dev/null && break
    sleep 0.1
done
state_url="http://127.0.0.1:$upstream_port/_cmconform/states"

# start_acceptor PYTHON LOG FLAGS...: prints the acceptor's port; its pid goes to $work/acc.pid.
start_acceptor() {
    local python=$1 log=$2
    shift 2
    "$python" tests/wia/acceptor.py --upstream "http://127.0.0.1:$upstream_port" \
        --upstream-auth "$credential" --log "$log" "$@" >"$work/acc.out" 2>"$work/acc.err" &
    echo $! >"$work/acc.pid"
    for _ in $(seq 100); do
        if grep -q '^listening ' "$work/acc.out" 2>/dev/null; then
            awk '/^listening /{print $2; exit}' "$work/acc.out"
            return
        fi
        sleep 0.1
    done
    echo "the acceptor did not start: $(cat "$work/acc.err")" >&2
    exit 2
}

# measure LABEL PYTHON "ACCEPTOR FLAGS" HOST "RUN FLAGS": N runs, one table row.
measure() {
    local label=$1 python=$2 acceptor_flags=$3 host=$4 run_flags=$5
    local passed=0 codes="" handshakes=0 completed=0 refused=0 served=0 started=$SECONDS
    for i in $(seq "$runs"); do
        variants=$((variants + 1))
        local log="$work/acc-$variants.log"
        local port
        # shellcheck disable=SC2086
        port=$(start_acceptor "$python" "$log" $acceptor_flags)
        local code=0
        # shellcheck disable=SC2086
        "$bin" run --base-url "http://$host:$port" --state-url "$state_url" $run_flags \
            >"$work/run-$i.out" 2>&1 || code=$?
        stop "$(cat "$work/acc.pid")"
        [ "$code" -eq 0 ] && passed=$((passed + 1))
        codes="$codes $code"
        handshakes=$((handshakes + $(grep -c ' negotiate ' "$log" || true)))
        completed=$((completed + $(grep -c ' authenticated ' "$log" || true)))
        refused=$((refused + $(grep -c ' refused ' "$log" || true)))
        served=$((served + $(grep -c ' served ' "$log" || true)))
    done
    local distinct
    distinct=$(echo "$codes" | tr ' ' '\n' | sed '/^$/d' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
    printf '| %s | %s of %s | %s | %s of %s | %s | %s | %ss |\n' "$label" "$passed" "$runs" \
        "$distinct" "$completed" "$handshakes" "$refused" "$served" "$((SECONDS - started))"
}

variants=0

header() {
    echo "| variant | runs exit 0 | exit codes | handshakes completed | refused | requests served | time |"
    echo "|---|---|---|---|---|---|---|"
}

case "$mode" in
kerberos)
    python=/usr/bin/python3
    "$python" -c 'import gssapi' || { echo "python3-gssapi is missing" >&2; exit 2; }
    kdc_port=$(free_port)
    sh tests/kerberos/realm.sh "$work" "$kdc_port"
    export KRB5_CONFIG="$work/krb5.conf" KRB5_KDC_PROFILE="$work/kdc.conf"
    krb5kdc -n -r CMCONFORM.TEST >"$work/kdc.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$kdc_port") 2>/dev/null && break
        sleep 0.1
    done
    export KRB5CCNAME="FILE:$work/cc" KRB5_KTNAME="$work/http.keytab" KRB5RCACHEDIR="$work"
    unset KRB5_CLIENT_KTNAME
    kinit -k -t "$work/client.keytab" svc-cm
    header
    measure "kinit ticket, connections kept authenticated" "$python" "--kerberos --offer Negotiate" localhost "--auth negotiate"
    measure "kinit ticket, --jobs 1" "$python" "--kerberos --offer Negotiate" localhost "--auth negotiate --jobs 1"
    measure "kinit ticket, a fresh token on every request" "$python" "--kerberos --offer Negotiate --per-request" localhost "--auth negotiate"
    measure "kinit ticket, connection closed every 5 requests" "$python" "--kerberos --offer Negotiate --close-after 5" localhost "--auth negotiate"
    ;;
ntlm)
    python=python3
    "$python" -c 'import spnego' || { echo "pyspnego is missing" >&2; exit 2; }
    echo "CONTOSO:svc-cm:Wia-pw-1!" >"$work/users"
    export NTLM_USER_FILE="$work/users"
    auth="--auth ntlm --user CONTOSO\\svc-cm --password Wia-pw-1!"
    header
    for jobs in "--jobs 1" ""; do
        for variant in "Negotiate,NTLM" "Negotiate" "NTLM" "Negotiate --strict-spnego" \
            "Negotiate,NTLM --html" "Negotiate,NTLM --html --close-after 5"; do
            measure "--offer $variant ${jobs:-(default jobs)}" "$python" "--offer $variant" 127.0.0.1 "$auth $jobs"
        done
    done
    ;;
*)
    echo "usage: measure-auth.sh kerberos|ntlm [N]" >&2
    exit 2
    ;;
esac
