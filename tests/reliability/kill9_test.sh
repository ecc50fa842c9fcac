#!/usr/bin/env bash
# kill -9 without loss: runs `iterop MODE ...` to the end once (the reference), then again in fresh folders
# killed with SIGKILL after several delays, each followed by the rerun a user would type (training resumes
# from its checkpoint, `iterop run` from its finished cells). Checks, for every kill time:
#   - every output file on disk right after the kill is the old complete version (planted before the run)
#     or the new complete version (byte-equal to the reference's), never a torn one;
#   - the rerun exits 0 and its result equals the uninterrupted run's (bytes of the model file; the report
#     without its timings and "cached" flags; the printed result without timings);
#   - at least one kill landed in the middle (a checkpoint or finished cells were there to resume from).
# Usage: kill9_test.sh ITEROP MODE WORKDIR, MODE one of flow, denoiser, pign, run.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
iterop="$1"
mode="$2"
work="$3"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fail() {
  echo "FAIL ($mode): $*" >&2
  exit 1
}

# ---- the command of each mode, run in the current folder ----------------------------------------------
write_inputs() {
  case "$mode" in
    pign)  # a tiny Planetoid folder: 12 nodes, 3 classes, a ring with chords
      mkdir -p graph
      {
        printf '# nodes\t12\tfeatures\t4\n'
        for i in $(seq 0 11); do printf '%d\t%d\t1\n' "$i" $((i % 4)); printf '%d\t%d\t0.5\n' "$i" $(((i + 1) % 4)); done
      } >graph/features.tsv
      { printf '# node\tclass\n'; for i in $(seq 0 11); do printf '%d\t%d\n' "$i" $((i % 3)); done; } >graph/labels.tsv
      { printf '# edges\n'; for i in $(seq 0 11); do printf '%d\t%d\n' "$i" $(((i + 1) % 12)); done
        printf '0\t6\n3\t9\n'; } >graph/edges.tsv
      { printf '# node\tsplit\n'
        for i in $(seq 0 11); do
          if [ "$i" -lt 6 ]; then s=train; elif [ "$i" -lt 9 ]; then s=val; else s=test; fi
          printf '%d\t%s\n' "$i" "$s"
        done; } >graph/split.tsv
      ;;
    run)
      cat >exp.toml <<'TOML'
[experiment]
name = "kill9"
kind = "volterra"
seed = [1, 2, 3]

[study]
steps = [1024, 2048, 4096]

[[problem]]
reference = ["L2", "N1"]

[[method]]
method = ["trapezoid", "block_simpson"]

[output]
plots = false
TOML
      ;;
  esac
}

# The command; $1 = seed of the "old" version (planted before the killed runs), empty for the real one.
command_of() {
  local seed="${1:-1}"
  case "$mode" in
    flow)
      echo "train flow --arch calmflow --source normal --target moons --steps 60 --batch 8 --width 16 --layers 1" \
        "--heads 2 --feedforward 16 --time-points 4 --trajectories 2 --spatial-tokens 1 --pool 64 --seed $seed" \
        "--model model.pt --checkpoint ckpt.pt --checkpoint-every 5 --progress-every 1" ;;
    denoiser)
      echo "train denoiser --dataset moons --steps 100 --diffusion-steps 20 --ode-steps 5 --samples 64 --seed $seed" \
        "--model model.pt" ;;
    pign)
      echo "train pign --data graph --epochs 150 --k 3 --width 8 --seed $seed --format json" ;;
    run)
      echo "run exp.toml --out report" ;;
  esac
}

# What must equal between the uninterrupted run and a killed-then-rerun one.
result_of() {
  case "$mode" in
    flow | denoiser) cat model.pt ;;
    pign) sed -E 's/"[a-z_]*seconds[a-z_]*": *[-+0-9.eE]+,?//g' out.txt ;;  # the JSON printed, without timings
    run) cmake -DA=../ref/report/results.json -DB=report/results.json -P "$here/same_records.cmake" 2>&1 && echo same ;;
  esac
}

run_to_end() {  # $@: command words
  # shellcheck disable=SC2068
  "$iterop" $@ >out.txt 2>err.txt || fail "$(pwd): iterop $* exited $?: $(tail -3 err.txt)"
}

# ---- the reference, and the old version of each output file ------------------------------------------
mkdir ref && (cd ref && write_inputs && run_to_end "$(command_of)") || exit 1
if [ "$mode" = run ]; then reference="$(echo same | md5sum)"; else reference="$(cd ref && result_of | md5sum)"; fi
old_files=()
if [ "$mode" = flow ] || [ "$mode" = denoiser ]; then
  mkdir old && (cd old && write_inputs && run_to_end "$(command_of 7)") || exit 1
  cmp -s old/model.pt ref/model.pt && fail "the old model equals the new one: the test could not tell them apart"
  old_files=(model.pt)
fi

# ---- kill -9 at several moments, then rerun ---------------------------------------------------------
# A moment is "COUNT:DELAY": DELAY seconds after the COUNT-th progress line (progress_pattern), so the kills
# land at the same stages of the work on a fast or a loaded machine (a fixed time would not).
case "$mode" in
  flow) progress_pattern='^step [0-9]+/'; moments=(1:0 4:0.01 11:0 23:0.02 37:0 52:0.01 60:0) ;;
  run) progress_pattern='^\[ *[0-9]+/'; moments=(1:0 6:0 15:0.01 27:0 35:0) ;;
  denoiser) progress_pattern='^iterop train denoiser|step [0-9]+/[0-9]+:|^sampler'; moments=(1:0 1:0.5 2:0 3:0) ;;
  pign) progress_pattern='^iterop train pign'; moments=(1:0 1:0.1 1:0.3 1:0.6) ;;
esac
in_the_middle=0
for moment in "${moments[@]}"; do
  count="${moment%%:*}"
  delay="${moment#*:}"
  dir="kill-$count-$delay"
  mkdir "$dir"
  cd "$dir" || exit 1
  write_inputs
  for f in "${old_files[@]}"; do cp "../old/$f" "$f"; done
  # shellcheck disable=SC2046
  "$iterop" $(command_of) >out.txt 2>err.txt &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$(cat out.txt err.txt 2>/dev/null | grep -cE "$progress_pattern")" -lt "$count" ]; do sleep 0.02; done
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then killed=yes; else killed="no (finished first)"; fi
  wait "$pid" 2>/dev/null
  # Every output file is the old or the new complete version.
  for f in "${old_files[@]}"; do
    [ -e "$f" ] || fail "$dir: $f vanished (the old version must stay until the new one replaces it)"
    cmp -s "$f" "../old/$f" || cmp -s "$f" "../ref/$f" || fail "$dir: $f is neither the old nor the new complete file"
  done
  # The rerun a user would type: resume from the checkpoint when there is one.
  rerun="$(command_of)"
  resumed=""
  how="from the start"
  if [ "$mode" = flow ] && [ -e ckpt.pt ]; then rerun="$rerun --resume ckpt.pt"; how="from the checkpoint at the last step (nothing to train)"; fi
  # shellcheck disable=SC2086
  run_to_end $rerun
  case "$mode" in
    flow)  # the first step trained by the rerun: past 1 when it resumed
      first=$(grep -m1 -oE '^step [0-9]+' err.txt | grep -oE '[0-9]+')
      if [ -n "$first" ] && [ "$first" -gt 1 ]; then resumed="at step $((first - 1)) of 60"; fi ;;
    run) cached=$(cat err.txt out.txt | grep -c "cached: "); [ "$cached" -gt 0 ] && resumed="$cached of 36 cells cached"
         [ "$cached" -eq 36 ] && in_the_middle=$((in_the_middle - 1)) ;;  # finished before the kill: nothing to resume
  esac
  [ -n "$resumed" ] && in_the_middle=$((in_the_middle + 1))
  [ "$(result_of | md5sum)" = "$reference" ] || fail "$dir: the rerun's result differs from the uninterrupted run's: $(result_of | tail -3)"
  temporaries=$(find . -name '*.tmp*' | wc -l)
  echo "kill ${delay} s after progress line $count: killed $killed; rerun ${resumed:-$how}; result equal; temporaries left: $temporaries"
  cd .. || exit 1
done
if [ "$mode" != denoiser ] && [ "$mode" != pign ] && [ "$in_the_middle" -eq 0 ]; then
  fail "no kill landed while there was something to resume from: the delays do not test resuming"
fi
echo "PASS ($mode): ${#moments[@]} kill moments, $in_the_middle resumed from a checkpoint or finished cells"
