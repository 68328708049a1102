#!/bin/sh
# The usual "stop the container when a program dies" listener: at the
# first event it is sent (subscribe it to PROCESS_STATE_FATAL), it kills
# the daemon whose pid is in the pidfile $1.
printf 'READY\n'
while IFS= read -r header; do
    echo "stopping the daemon on: $header" >&2
    kill -TERM "$(cat "$1")"
    printf 'RESULT 2\nOK'
    printf 'READY\n'
done
