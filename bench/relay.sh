#!/usr/bin/env bash
# Relay benchmark: smtp-source submits N messages of S bytes over C
# sessions to emailrelay, which forwards them to Postfix's smtp-sink.
# Reports end-to-end messages per second (first submission until the sink
# has all N and the spool is empty), the relay's peak RSS and CPU seconds.
# The forwarding trigger is --forward-on-disconnect (default) or
# "--poll 1" (MODE=poll); EXTRA adds relay options, e.g.
# EXTRA="--client-smtp-config pipelining".
#
# usage: bench/relay.sh [N [S [C]]]     (defaults 5000 4096 20)
set -euo pipefail
N=${1:-5000}
S=${2:-4096}
C=${3:-20}
MODE=${MODE:-disconnect}
here=$(cd "$(dirname "$0")" && pwd)
bin=${EMAILRELAY:-$here/../build/emailrelay}
for t in smtp-source smtp-sink; do
	command -v $t >/dev/null || { echo "$t missing (postfix)"; exit 1; }
done
[ -x "$bin" ] || { echo "$bin missing: run make"; exit 1; }

work=$(/usr/bin/python3 -c 'import tempfile; print(tempfile.mkdtemp(prefix="emailrelay-bench."))')
cleanup() {
	kill "$pid" "$sink" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/spool"
if [ "$(id -u)" = 0 ]; then chgrp daemon "$work/spool"; chmod 2775 "$work/spool"; fi
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(freeport)
sport=$(freeport)

# The sink counts messages it accepted; -c prints the count on exit.
smtp-sink -c -u nobody "127.0.0.1:$sport" 1024 >"$work/sink.out" 2>&1 &
sink=$!

case $MODE in
poll)	trigger="--poll 1" ;;
*)	trigger="--forward-on-disconnect" ;;
esac
# shellcheck disable=SC2086
"$bin" --no-daemon --port "$port" --interface 127.0.0.1 \
    --spool-dir "$work/spool" --forward-to "127.0.0.1:$sport" $trigger ${EXTRA:-} \
    2>"$work/log" &
pid=$!
for i in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

t0=$(date +%s.%N)
smtp-source -s "$C" -m "$N" -l "$S" -f a@x.test -t b@y.test "127.0.0.1:$port"
t_in=$(date +%s.%N)
# Forwarding is done when the spool holds no envelope (bounded wait).
for i in $(seq 6000); do
	left=$(find "$work/spool" -maxdepth 1 -name 'emailrelay.*.envelope*' | wc -l)
	[ "$left" = 0 ] && break
	sleep 0.1
done
t1=$(date +%s.%N)
bad=$(find "$work/spool" -maxdepth 1 -name '*.bad' | wc -l)
cpu=$(awk '{print ($14+$15)/100}' "/proc/$pid/stat")
ccpu=0; rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
for k in $(pgrep -P "$pid"); do
	ccpu=$(awk -v c="$ccpu" '{print c+($14+$15)/100}' "/proc/$k/stat")
	r=$(awk '/VmHWM/{print $2}' "/proc/$k/status"); [ "$r" -gt "$rss" ] && rss=$r
done
echo "trigger:        $trigger"
echo "left in spool:  $left ($bad failed)"
awk -v n="$N" -v a="$t0" -v b="$t_in" 'BEGIN{printf "ingest:         %.1f msg/s (submission only)\n", n/(b-a)}'
awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN{printf "end to end:     %.1f msg/s\n", n/(b-a)}'
awk -v a="$t0" -v b="$t1" -v c="$t_in" 'BEGIN{printf "ratio:          %.2f of the ingest rate\n", (c-a)/(b-a)}'
echo "peak RSS:       ${rss} kB (largest process)"
echo "CPU seconds:    parent $cpu, children $ccpu"
[ "$left" = 0 ]
