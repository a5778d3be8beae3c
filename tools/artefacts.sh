#!/usr/bin/env bash
# Every artefact of a checkout at the toy and quick scales, for a bit-for-bit comparison of two revisions
# (tools/compare_artefacts.py): a ticket per construction with its verify report, slth check (one and
# all constructions), and slth figures at toy and quick scale (results tables, summaries, fits, figures).
#   tools/artefacts.sh CHECKOUT OUT      CHECKOUT has its own .venv (pip install -c requirements/ci.txt -e .)
set -uo pipefail
C=$(cd "$1" && pwd); O=$(mkdir -p "$2" && cd "$2" && pwd); S=$C/.venv/bin/slth
mkdir -p "$O/tickets"
cd "$C"
for con in subset-sum selection hyperbolic depth-l+1 fixed-size binary edge-popup; do
  "$S" prune --construction $con --dims 4,6,3 --candidates 6 --seed 3 --out "$O/tickets/$con.npz" --json > "$O/tickets/$con.json" 2>&1
  "$S" verify "$O/tickets/$con.npz" --json > "$O/tickets/$con.verify.json" 2>&1
done
"$S" prune --out "$O/tickets/default.npz" --json > "$O/tickets/default.json" 2>&1
"$S" check --dims 6,6,6 --eps 0.1 --trials 5 --json > "$O/check.json" 2>&1
"$S" check --construction all --dims 4,4,4 --eps 0.2 --trials 3 --json > "$O/check_all.json" 2>&1
"$S" figures --scale toy --results "$O/toy/results" --out "$O/toy/figs" > "$O/toy.log" 2>&1
"$S" figures --scale quick --results "$O/quick/results" --out "$O/quick/figs" > "$O/quick.log" 2>&1
