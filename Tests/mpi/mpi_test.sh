#!/usr/bin/env bash
# Data-parallel training over MPI on 2 ranks (examples/c/mpi_train.c, examples/python/mpi_train.py,
# Tests/mpi/union_equals_single.py): replicas end bit-identical (equal checksums on every rank), a
# resumed run too; averaged gradients equal one trainer's on the union of the episodes; a rank
# whose verifier fails makes every rank stop with an error (no hang); a prompt count the ranks do
# not divide is refused. Installs OpenMPI and mpi4py when missing.
# Usage: Tests/mpi/mpi_test.sh LIB_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB_DIR="$(cd "${1:?usage: mpi_test.sh LIB_DIR}" && pwd)"

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v mpirun > /dev/null || ! command -v mpicc > /dev/null; then
    $SUDO apt-get install -y openmpi-bin libopenmpi-dev || { $SUDO apt-get update && $SUDO apt-get install -y openmpi-bin libopenmpi-dev; }
fi
# pip first (it builds mpi4py against the OpenMPI just installed); a Debian Python that refuses pip
# installs (PEP 668) gets the distribution's packages instead.
python3 -c "import mpi4py" 2> /dev/null || python3 -m pip install mpi4py || $SUDO apt-get install -y python3-mpi4py
python3 -c "import numpy" 2> /dev/null || python3 -m pip install numpy || $SUDO apt-get install -y python3-numpy
# OpenMPI refuses to run as root unless told; CI machines often are root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export LIBSCORE_PATH="$LIB_DIR/libscore.so" PYTHONPATH="$PWD/bindings/python"
# --tag-output: mpirun forwards each rank's lines whole (untagged, two ranks' last lines can merge).
MPIRUN=(timeout 180 mpirun -n 2 --oversubscribe --tag-output)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
make -s -C examples/c mpi_train LIB_DIR="$LIB_DIR" > /dev/null

# equal_checksums LOG STEP: both ranks printed "rank R step STEP checksum X" with one X.
equal_checksums() {
    local lines sums
    lines="$(sed 's/^\[[0-9]*,[0-9]*\]<std[a-z]*>://' "$1" | grep -E "^rank [01] step $2 checksum [0-9a-f]{16}$" || true)"
    sums="$(echo "$lines" | awk '{print $6}' | sort -u)"
    if [ "$(echo "$lines" | grep -c .)" -ne 2 ] || [ "$(echo "$sums" | grep -c .)" -ne 1 ]; then
        echo "expected two ranks at step $2 with one checksum:"; cat "$1"; return 1
    fi
    echo "   both ranks at step $2, checksum $sums"
}

echo "-- C: 2 ranks × 4 steps, then rank 0 saves; every rank resumes for 2 more"
"${MPIRUN[@]}" examples/c/mpi_train --steps 4 --save "$out/saved" > "$out/c.log" 2>&1 || { cat "$out/c.log"; exit 1; }
equal_checksums "$out/c.log" 4
"${MPIRUN[@]}" examples/c/mpi_train --steps 2 --resume "$out/saved" > "$out/c-resumed.log" 2>&1 \
    || { cat "$out/c-resumed.log"; exit 1; }
equal_checksums "$out/c-resumed.log" 6

echo "-- Python (mpi4py): 2 ranks × 4 steps"
"${MPIRUN[@]}" python3 examples/python/mpi_train.py --steps 4 > "$out/py.log" 2>&1 || { cat "$out/py.log"; exit 1; }
equal_checksums "$out/py.log" 4

if python3 -c "import torch" 2> /dev/null; then
    echo "-- torch.distributed (Gloo): 2 processes × 4 steps, the same replicas as over MPI"
    timeout 300 python3 examples/python/torch_distributed_train.py --steps 4 > "$out/gloo.log" 2>&1 \
        || { cat "$out/gloo.log"; exit 1; }
    equal_checksums "$out/gloo.log" 4
    [ "$(grep -m1 -o 'checksum [0-9a-f]*' "$out/gloo.log")" = "$(sed 's/^\[[0-9]*,[0-9]*\]<std[a-z]*>://' "$out/py.log" | grep -m1 -o 'checksum [0-9a-f]*')" ] \
        || { echo "Gloo and MPI replicas differ"; exit 1; }
else
    echo "-- torch.distributed (Gloo): skipped, torch is not installed"
fi

echo "-- averaged gradients of 2 ranks = one trainer on the union of their episodes"
"${MPIRUN[@]}" python3 Tests/mpi/union_equals_single.py 2>&1 | sed 's/^/   /'
test "${PIPESTATUS[0]}" -eq 0

echo "-- a verifier that fails on one rank stops every rank (C and Python), within the timeout"
for program in "examples/c/mpi_train" "python3 examples/python/mpi_train.py"; do
    # shellcheck disable=SC2086
    if "${MPIRUN[@]}" $program --steps 4 --fail-rank 1 --fail-step 3 > "$out/fail.log" 2>&1; then
        echo "$program: a failed verifier did not fail the run"; cat "$out/fail.log"; exit 1
    fi
    grep -q "failed" "$out/fail.log" || { echo "$program: no failure reported"; cat "$out/fail.log"; exit 1; }
    if grep -q "checksum" "$out/fail.log"; then echo "$program: a rank went on after the failure"; exit 1; fi
    grep -Eq ":step +3  (Stage|STAGE)" "$out/fail.log" && { echo "$program: step 3 was reported"; exit 1; }
    echo "   $program: every rank stopped at step 3"
done

echo "-- replicas of different shapes are refused before the first step"
if "${MPIRUN[@]}" examples/c/mpi_train --other-shape-rank 1 > "$out/shape.log" 2>&1; then echo "mismatched shapes ran"; exit 1; fi
grep -q "replicas differ in shape" "$out/shape.log" || { cat "$out/shape.log"; exit 1; }
! grep -Eq ":step +1  " "$out/shape.log" || { echo "a step ran with mismatched replicas"; exit 1; }

echo "-- a prompt count the ranks do not divide is refused"
if "${MPIRUN[@]}" examples/c/mpi_train --prompts 7 > "$out/odd.log" 2>&1; then echo "--prompts 7 ran"; exit 1; fi
grep -q "not a multiple of the 2 ranks" "$out/odd.log" || { cat "$out/odd.log"; exit 1; }
echo "mpi ok"
