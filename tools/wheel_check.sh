#!/usr/bin/env bash
# The wheel alone does what a checkout does, and slth writes nothing outside the folder it runs in.
#
#   tools/wheel_check.sh [CHECKOUT [WORK [PHASE]]]   CHECKOUT: the slth checkout (default: .); WORK: a
#       scratch folder (default: a new temporary one); PHASE: all (default), prepare (steps 1 to 3's
#       building and installing, then exit) or commands (the rest, in a WORK that prepare made). .ci/run
#       prepares while the test command installs (both mostly one core) and runs the commands after the
#       tests. Needs python3 >= 3.11.
#
# 1. builds the wheel from a clean copy of the checkout (tracked and untracked files and .git, for the
#    version; no build/, .venv, results or egg-info whose stale files could leak into the wheel);
# 2. installs the bare wheel (no extras) into a fresh venv with the versions of requirements/ci.txt and
#    reports the size of its site-packages (the dependencies not byte-compiled: install()); in an empty
#    folder: slth --version and slth check (the main job at XLA's default, its JSON checked: the README's
#    example, widths above the counting bound) work, and slth selftest and slth figures refuse in one line
#    naming the extra they need;
# 3. installs the wheel with the extras figures, theorems and numba into a second venv, in the background
#    from the start (with the bare install, then beside the main job: the machine's two cores), and there
#    runs slth selftest (subset sum, a pool of one case per property: every property reported, all holding;
#    the full suite over every construction runs in the test command, from tests/theorems/; compiled with
#    the test suite's XLA flags, tests/fast_xla_flags.txt: 49 s against 78 s alone, and the same tickets
#    and certificates as XLA's default), a call of the compiled subset-sum kernels and then the bare
#    install's two refusals; then (PHASE commands; PHASE all: once the main job is done, on its side) the
#    same venv in the same folder, with a HOME of its own: slth run toy/weight_error, slth figures --scale toy --only fig2 (one figure drawn from the wheel;
#    every figure at toy scale is drawn by the test command's tests/test_figures.py, and here every
#    figure's shipped specs are found in the installed package at every scale);
# 4. fails listing every file created or changed after each install in the checkout, the installed
#    packages (site-packages/slth of both venvs) or the real HOME's .cache (pip's own cache aside), .config
#    and .local. The commands run with HOME an empty folder in WORK (one per process that runs beside another), where slth's
#    compilation caches and matplotlib's font cache go; files new in /tmp are listed, not judged (other
#    processes write there).
# Each step prints its wall time.
set -Eeuo pipefail
trap 'echo "FAIL: tools/wheel_check.sh line $LINENO: $BASH_COMMAND" >&2' ERR

REPO=$(cd "${1:-.}" && pwd)
WORK=${2:-$(mktemp -d)}
PHASE=${3:-all}
case $PHASE in
  all | prepare | commands) ;;
  *) echo "FAIL: PHASE must be all, prepare or commands; got '$PHASE'" >&2; exit 2 ;;
esac
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SRC=$WORK/src WHEELS=$WORK/wheel VENV=$WORK/venv EMPTY=$WORK/empty FAKE_HOME=$WORK/home STAMP=$WORK/stamp
VENV2=$WORK/venv-extras HOME2=$WORK/home-extras STAMP2=$WORK/stamp-extras READY2=$WORK/ready-extras
HOME3=$WORK/home-figures PREPARED=$WORK/prepared COPIED=$WORK/copied
if [ "$PHASE" = commands ]; then
  [ -e "$PREPARED" ] || { echo "FAIL: $WORK was not prepared (tools/wheel_check.sh CHECKOUT WORK prepare)" >&2
                          exit 2; }
  rm -f "$WORK/swept"
else
  rm -rf "$SRC" "$WHEELS" "$VENV" "$EMPTY" "$FAKE_HOME" "$STAMP" "$VENV2" "$HOME2" "$STAMP2" "$READY2" "$HOME3" \
         "$PREPARED" "$COPIED" "$WORK/swept"
  mkdir -p "$SRC" "$WHEELS" "$EMPTY" "$FAKE_HOME" "$HOME2" "$HOME3"
fi
REAL_HOME=$HOME
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset XLA_FLAGS JAX_COMPILATION_CACHE_DIR NUMBA_CACHE_DIR MPLBACKEND MPLCONFIGDIR PYTHONDONTWRITEBYTECODE XDG_CACHE_HOME \
      XDG_CONFIG_HOME SLTH_JAX_CACHE

step() {   # step NAME COMMAND...: run it and print its wall time; a failure ends the script
  local name=$1 start
  shift
  start=$EPOCHREALTIME
  "$@"
  awk -v a="$start" -v b="$EPOCHREALTIME" -v n="$name" 'BEGIN { printf "== %-44s %6.1f s\n", n, b - a }' >&2
}
install() {   # install VENV SPEC: pip without byte-compiling the dependencies (about 20 s of CPU for the extras;
  # Python compiles what a command imports, once per venv, into their own folders), then slth's own modules
  # compiled as pip does, so that a command writes nothing in the installed package
  "$1/bin/pip" install -q --no-compile -c "$REPO/requirements/ci.txt" "$2"
  "$1/bin/python" -m compileall -q "$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/slth"
}
copy() {
  tar -C "$REPO" --exclude=./build --exclude=./dist --exclude=./.venv --exclude=./results \
      --exclude='*.egg-info' --exclude=__pycache__ --exclude=./.hypothesis --exclude=./.pytest_cache \
      --exclude=./benchmarks/out --exclude=./figures -cf - . | tar -C "$SRC" -xf -
}
in_empty() (   # run a command in the empty folder, with HOME an empty folder of WORK ($RUN_HOME, else $FAKE_HOME)
  cd "$EMPTY"
  HOME=${RUN_HOME:-$FAKE_HOME} JAX_PLATFORMS=cpu "$@"
)
refuses() {    # refuses EXTRA COMMAND...: exit status 2 and one line naming the extra
  local err
  if err=$(in_empty "$VENV/bin/slth" "${@:2}" 2>&1 >/dev/null); then
    echo "FAIL: slth ${*:2} worked without the extra $1" >&2; exit 1
  fi
  grep -q "pip install 'slth\[$1\]'" <<<"$err" || { echo "FAIL: slth ${*:2} said: $err" >&2; exit 1; }
  [ "$(wc -l <<<"$err")" -eq 1 ] || { echo "FAIL: more than one line: $err" >&2; exit 1; }
}

# the extras' venv (the wheel with figures, theorems and numba): made in the background beside the bare install
extras_install() {
  step "a second venv: the wheel with figures,theorems,numba" python3 -m venv "$VENV2"
  step "install the wheel with figures,theorems,numba" install "$VENV2" "$WHEEL[figures,theorems,numba]"
  touch "$STAMP2"
  sleep 1
  touch "$READY2"
}
# the extras' slth selftest (the longest step but the main job, one core) and the compiled kernels, then the bare
# install's refusals: beside the main job, on the machine's other core
extras_commands() {
  (
  export RUN_HOME=$HOME2
  step "slth selftest (subset sum)" in_empty env SLTH_THEOREM_POOL=1 SLTH_THEOREM_CONSTRUCTIONS=subset-sum \
      XLA_FLAGS="$(grep -v '^#' "$REPO/tests/fast_xla_flags.txt" | tr '\n' ' ')" "$VENV2/bin/slth" selftest \
      > "$WORK/selftest.txt"
  grep -q "all properties hold" "$WORK/selftest.txt"
  grep -q "vs <= 0.2" "$WORK/selftest.txt"       # a probabilistic property, with its rate and interval
  for prop in 5.1 5.2 5.3 5.4 5.5 5.6 5.7 5.8; do grep -q "§$prop" "$WORK/selftest.txt"; done
  test ! -e "$EMPTY/.pytest_cache"             # pytest ran isolated from the folder it was started in
  step "the compiled kernels (numba)" in_empty "$VENV2/bin/python" -c "import numpy as np
from slth.subset_sum import solve
solve(np.random.default_rng(0).uniform(-1, 1, (4, 20)), np.zeros(4), cpu_kernel='numba')"
  while [ ! -e "$STAMP" ]; do sleep 0.5; done    # the bare install is done
  step "slth selftest refuses without [theorems]" refuses theorems selftest
  step "slth figures refuses without [figures]" refuses figures figures --scale toy
  )
  # with the venvs made beforehand (PHASE commands) this side is the shorter: the sweep and the specs too
  [ "$PHASE" = all ] || sweep_commands
}
# a sweep from the extras' venv and its specs, then (figure_command) a figure drawn from that sweep's rows, with a
# HOME of their own (never sharing caches with the selftest)
sweep_commands() (
  export RUN_HOME=$HOME3
  step "slth run toy/weight_error" in_empty "$VENV2/bin/slth" run toy/weight_error > /dev/null
  touch "$WORK/swept"
  step "every figure's specs are package data" in_empty "$VENV2/bin/python" -c "from slth import figures
from slth.experiments import shipped
for scale in figures.SCALES:
    for f in figures.scripts():
        for sweep in f.sweeps:
            assert shipped.path(scale, sweep).is_file(), (scale, f.name, sweep)"
)
figure_command() (
  export RUN_HOME=$HOME3
  step "slth figures --scale toy --only fig2" in_empty "$VENV2/bin/slth" figures --scale toy --only fig2 > /dev/null
)

if [ "$PHASE" != commands ]; then
  step "clean copy of the checkout" copy
  touch "$COPIED"      # .ci/run starts the test command's install (which writes .venv in the checkout) after this
  step "make a fresh venv" python3 -m venv "$VENV"
  # PIP_CONSTRAINT reaches pip's isolated build environment (setuptools-scm's pinned version)
  step "build the wheel" env PIP_CONSTRAINT="$REPO/requirements/ci.txt" "$VENV/bin/pip" wheel -q --no-deps \
      -w "$WHEELS" "$SRC"
fi
WHEEL=$(ls "$WHEELS"/slth-*.whl)
if [ "$PHASE" = prepare ]; then
  extras_install &
  EXTRAS=$!
  trap 'kill "$EXTRAS" 2>/dev/null || true' EXIT
  step "install the bare wheel" install "$VENV" "$WHEEL"
  wait "$EXTRAS"
  touch "$PREPARED"
  echo "== prepared in $WORK: the bare install and the extras' ($PHASE)" >&2
  exit 0
elif [ "$PHASE" = all ]; then
  (extras_install && extras_commands) &
  EXTRAS=$!
  trap 'kill "$EXTRAS" 2>/dev/null || true' EXIT     # a failure here stops the extras' steps too
  step "install the bare wheel" install "$VENV" "$WHEEL"
fi
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "== site-packages of the bare install: $(du -sm "$SITE" | cut -f1) MB" >&2

touch "$STAMP"
sleep 1        # find -newer compares modification times, at the filesystem's resolution
if [ "$PHASE" = commands ]; then
  extras_commands &
  EXTRAS=$!
  trap 'kill "$EXTRAS" 2>/dev/null || true' EXIT
fi
step "slth --version" in_empty "$VENV/bin/slth" --version
step "slth check (the main job, bare install)" in_empty "$VENV/bin/slth" check --json > "$WORK/check.json"
# then (PHASE all) the figures' commands on this core, once the extras' venv is made
while [ ! -e "$READY2" ]; do
  kill -0 "$EXTRAS" 2>/dev/null || { wait "$EXTRAS"; echo "FAIL: the extras' venv was not made" >&2; exit 1; }
  sleep 0.5
done
SITE2=$("$VENV2/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ "$PHASE" = all ]; then
  sweep_commands
else              # the figure reads the sweep's rows, which the extras' side writes
  while [ ! -e "$WORK/swept" ]; do
    kill -0 "$EXTRAS" 2>/dev/null || { wait "$EXTRAS"; echo "FAIL: the extras' side ended before the sweep" >&2; exit 1; }
    sleep 0.5
  done
fi
figure_command
wait "$EXTRAS"
# the main job is the README's example (subset sum, 16-16-16, ε = 0.01, δ = 0.1, 20 trials), its certified
# width respects the counting bound and Pensia's constant is reported (tests/test_experiments.py runs the
# same checks on a two-trial check; this is the one full run of the main job in CI)
"$VENV/bin/python" - "$WORK/check.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["construction"], r["dims"], r["eps"], r["delta"], r["trials"]) == ("subset-sum", [16, 16, 16], 0.01, 0.1, 20), r
counting = next(b for b in r["bounds"] if b["name"] == "counting")
assert r["measured"]["certified"] is not None and r["measured"]["certified"] >= counting["candidates"], r["measured"]
assert r["pensia_C_needed"] > 0
PY

echo "== written in the empty folder:" >&2
(cd "$EMPTY" && find . -mindepth 1 -maxdepth 2 -type d | sort | sed 's/^/     /') >&2
test -f "$EMPTY/results/toy/weight_error/results.csv"
test -f "$EMPTY/figures/toy/fig2_weight_error.png"

# pip's own cache (the installs reuse the test command's downloads) is pip's, not slth's
scan() { find "$@" -path "$REAL_HOME/.cache/pip" -prune -o -newer "$STAMP" -print 2>/dev/null || true; }
outside=$( (scan "$REPO" "$SITE/slth" "$REAL_HOME/.cache" "$REAL_HOME/.config" "$REAL_HOME/.local"
           find "$SITE2/slth" -newer "$STAMP2" -print) | sort)
echo "== new in /tmp (listed, not judged): $(find /tmp -path "$WORK" -prune -o -newer "$STAMP" -print 2>/dev/null \
      | wc -l) entries" >&2
for h in "$FAKE_HOME" "$HOME2" "$HOME3"; do
  echo "== HOME $(basename "$h") (caches) holds: $(cd "$h" && find . -mindepth 1 -maxdepth 3 -type d | sort | tr '\n' ' ')" >&2
done
if [ -n "$outside" ]; then
  echo "FAIL: slth wrote outside $EMPTY:" >&2
  sed 's/^/     /' <<<"$outside" >&2
  exit 1
fi
echo "OK: the wheel works from an empty folder, and nothing was written in the checkout, the installed package or HOME" >&2
