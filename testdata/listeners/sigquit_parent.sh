#!/bin/bash
# The other usual one, as found in the wild: on any event, SIGQUIT to its
# parent (the daemon), without even reading the payload.
printf "READY\n"
while read -r line; do
    echo "Processing Event: $line" >&2
    kill -SIGQUIT $PPID
done </dev/stdin
