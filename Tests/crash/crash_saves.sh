#!/usr/bin/env bash
# Kills a save at each of its renames and flushes and at every fourth write (strace fault injection)
# and checks that the folder left behind loads as the old model, the new one, or is refused, never
# anything else; for a model folder and a trainer state. Usage: crash_saves.sh LIBSCORE_SO
set -euo pipefail
cd "$(dirname "$0")"
export LIBSCORE_PATH="$1" PYTHONPATH="$PWD/../../bindings/python"
FIXTURES="$PWD/../ScoreEngineTests/Fixtures/gguf"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

failures=0 kills=0
check() { # kind old-source new-source [extra args of save_model.py for old] [for new]
    local kind=$1 old=$2 new=$3 old_args=$4 new_args=$5
    python3 save_model.py "$old" "$WORK/old" $old_args
    python3 save_model.py "$new" "$WORK/new" $new_args
    local want_old want_new
    want_old="$(python3 read_model.py "$WORK/old" "$kind")"
    want_new="$(python3 read_model.py "$WORK/new" "$kind")"
    [ "$want_old" != "$want_new" ] || { echo "$kind: old and new models are alike"; exit 1; }
    for call in rename renameat2 fsync write; do
        local step=1
        [ "$call" = write ] && step=4
        for ((n = 1; ; n += step)); do
            rm -rf "$WORK/target" "$WORK"/.target*
            cp -r "$WORK/old" "$WORK/target"
            local status
            status="$( { strace -f -qq -o /dev/null -e trace="$call" -e inject="$call:signal=KILL:when=$n" \
                python3 save_model.py "$new" "$WORK/target" $new_args > /dev/null 2>&1; echo $?; } 2> /dev/null)"
            [ "$status" -eq 0 ] && break  # the save finished before the n-th call
            kills=$((kills + 1))
            local got
            got="$(python3 read_model.py "$WORK/target" "$kind")"
            if [ "$got" != "$want_old" ] && [ "$got" != "$want_new" ] && [ "$got" != refused ]; then
                echo "FAIL: $kind save killed at $call #$n left a folder that loads as another model"
                failures=$((failures + 1))
            fi
        done
    done
}
check model "$FIXTURES/qwen2.gguf" "$FIXTURES/llama.gguf" "" ""
check state tiny:1 tiny:2 state state
echo "crash saves: $kills kills, $failures left a folder of another model"
[ "$failures" -eq 0 ]
