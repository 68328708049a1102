#!/bin/sh
# A listener in plain sh: records every header line and payload in the
# file $1 (`HEADER <line>`, then `PAYLOAD <bytes>`), answers FAIL to the
# first event it is sent and OK to every other.
rec=$1
answered=0
while :; do
    printf 'READY\n'
    IFS= read -r header || exit 0
    len=${header##*len:}
    len=${len%% *}
    payload=$(dd bs=1 count="$len" 2>/dev/null)
    printf 'HEADER %s\nPAYLOAD %s\n' "$header" "$payload" >>"$rec"
    if [ "$answered" = 0 ]; then
        answered=1
        printf 'RESULT 4\nFAIL'
    else
        printf 'RESULT 2\nOK'
    fi
done
