#!/bin/sh
# A listener in plain sh: records every event's name and payload in the
# file $1 (`EVENTNAME payload`, one line each) and answers OK.
rec=$1
while :; do
    printf 'READY\n'
    IFS= read -r header || exit 0
    len=${header##*len:}
    len=${len%% *}
    name=${header##*eventname:}
    name=${name%% *}
    payload=$(dd bs=1 count="$len" 2>/dev/null)
    printf '%s %s\n' "$name" "$payload" >>"$rec"
    printf 'RESULT 2\nOK'
done
