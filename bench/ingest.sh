#!/usr/bin/env bash
# Ingest benchmark: smtp-source (postfix) submits N messages of S bytes
# over C sessions to emailrelay; reports accepted messages per second, the
# fsync ceiling measured on the same spool file system in the same run
# (bench/fsync_ceiling.py), their ratio, and the relay's peak RSS and CPU.
#
# usage: bench/ingest.sh [N [S [C]]]     (defaults 5000 4096 20)
# Needs smtp-source: apt-get install postfix (see .ci/run for a quiet way).
set -euo pipefail
N=${1:-5000}
S=${2:-4096}
C=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
bin=${EMAILRELAY:-$here/../build/emailrelay}
command -v smtp-source >/dev/null || { echo "smtp-source missing (postfix)"; exit 1; }
[ -x "$bin" ] || { echo "$bin missing: run make"; exit 1; }

work=$(/usr/bin/python3 -c 'import tempfile; print(tempfile.mkdtemp(prefix="emailrelay-bench."))')
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/spool"
if [ "$(id -u)" = 0 ]; then chgrp daemon "$work/spool"; chmod 2775 "$work/spool"; fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

ceiling=$(/usr/bin/python3 "$here/fsync_ceiling.py" "$work/spool" 500 "$S")

"$bin" --no-daemon --port "$port" --interface 127.0.0.1 \
    --spool-dir "$work/spool" 2>"$work/log" &
pid=$!
for i in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

t0=$(date +%s.%N)
smtp-source -s "$C" -m "$N" -l "$S" -f a@x.test -t b@y.test "127.0.0.1:$port"
t1=$(date +%s.%N)
got=$(find "$work/spool" -name 'emailrelay.*.envelope' | wc -l)
cpu=$(awk '{print ($14+$15)/100}' "/proc/$pid/stat")
kids=$(pgrep -P "$pid" | tr '\n' ' ')
ccpu=0; rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
for k in $kids; do
	ccpu=$(awk -v c="$ccpu" '{print c+($14+$15)/100}' "/proc/$k/stat")
	r=$(awk '/VmHWM/{print $2}' "/proc/$k/status"); [ "$r" -gt "$rss" ] && rss=$r
done
rate=$(awk -v n="$got" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)}')
echo "messages:       $got of $N stored (size $S, $C sessions)"
echo "ingest:         $rate msg/s"
echo "fsync ceiling:  $ceiling msg/s (one message at a time, same disk)"
awk -v r="$rate" -v c="$ceiling" 'BEGIN{printf "ratio:          %.2f of the ceiling\n", r/c}'
echo "peak RSS:       ${rss} kB (largest process)"
echo "CPU seconds:    parent $cpu, children $ccpu"
[ "$got" = "$N" ]
