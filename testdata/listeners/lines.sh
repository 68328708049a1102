#!/bin/sh
# Writes `line 1` .. `line N` (N = $1) to stdout, then sleeps.
i=1
while [ "$i" -le "$1" ]; do
    echo "line $i"
    i=$((i + 1))
done
exec sleep 1000
