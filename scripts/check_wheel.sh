#!/usr/bin/env bash
# Does a plain (non-editable) install of the wheel, without torch, give a working `drowsy run`?
#
#   scripts/check_wheel.sh [CLIP]
#
# 1. builds the wheel (`pip wheel --no-deps`) from a copy of the checkout's files (tracked and
#    untracked-but-not-ignored: no .venv, no stale build/), so the result is what CI would build;
# 2. checks it holds drowsy/assets/eye_state.onnx (byte-identical to assets/) and no data
#    (images, videos, .task files, nothing from ../shared) beyond the two CC BY assets shipped
#    with their attribution (the self-check crops, the demo clip);
# 3. installs it into a fresh, clean venv: the runtime dependencies come from the pip cache or
#    PyPI, torch must not come along;
# 4. outside the checkout, runs `drowsy info`, `drowsy run --video CLIP --headless --out ...`,
#    `drowsy demo --headless` (its clip from the wheel), `drowsy report`, checks `import torch`
#    fails and `drowsy train` says what to install.
# Takes minutes (the venv install). Needs the landmarker: $DROWSY_LANDMARKER, else
# ../shared/models/face_landmarker.task (nothing is downloaded from its official address here).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
SHARED=${DROWSY_SHARED:-$ROOT/../shared}
CLIP=${1:-$SHARED/videos/grid/brbk7n.mpg}
export DROWSY_LANDMARKER=${DROWSY_LANDMARKER:-$SHARED/models/face_landmarker.task}
export DROWSY_OFFLINE=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/drowsy-wheel.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'check_wheel: FAIL: %s\n' "$*" >&2; exit 1; }

[ -f "$CLIP" ] || fail "clip not found: $CLIP (pass one as the first argument)"
[ -f "$DROWSY_LANDMARKER" ] || fail "face landmarker not found: $DROWSY_LANDMARKER (set DROWSY_LANDMARKER)"

step "copy the checkout's files to $WORK/src"
mkdir -p "$WORK/src"
"$PY" - "$ROOT" "$WORK/src" <<'EOF'
import shutil, subprocess, sys
from pathlib import Path

root, dst = Path(sys.argv[1]), Path(sys.argv[2])
try:  # tracked files and new ones that .gitignore does not exclude
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    files = [f for f in out.decode().split("\0") if f]
except (OSError, subprocess.CalledProcessError):  # not a git checkout: the parts a wheel needs
    files = [str(p.relative_to(root)) for top in ("pyproject.toml", "README.md", "drowsy", "assets")
             for p in ([root / top] if (root / top).is_file() else (root / top).rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
for f in files:
    if (root / f).is_file():
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / f, dst / f)
print(f"{len(files)} files")
EOF

step "build the wheel"
"$PY" -m pip wheel --no-deps -q -w "$WORK/dist" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "$WHEEL ($(du -k "$WHEEL" | cut -f1) KB)"

step "check its contents"
"$PY" - "$WHEEL" "$ROOT/assets/eye_state.onnx" <<'EOF' || fail "wheel contents"
import sys, zipfile
from pathlib import Path

wheel, asset = zipfile.ZipFile(sys.argv[1]), Path(sys.argv[2])
names = wheel.namelist()
problems = []
if "drowsy/assets/eye_state.onnx" not in names:
    problems.append("drowsy/assets/eye_state.onnx is missing")
elif not asset.is_file() or wheel.read("drowsy/assets/eye_state.onnx") != asset.read_bytes():
    problems.append("drowsy/assets/eye_state.onnx differs from assets/eye_state.onnx")
if "drowsy/assets/selfcheck_crops.npz" not in names:  # the model check's real eye crops (CC BY)
    problems.append("drowsy/assets/selfcheck_crops.npz is missing")
for name in ("drowsy/assets/demo.mp4", "drowsy/assets/DEMO.md"):  # `drowsy demo`'s clip and its attribution
    if name not in names:
        problems.append(f"{name} is missing")
data = (".jpg", ".jpeg", ".png", ".bmp", ".mpg", ".mp4", ".avi", ".task", ".csv", ".npz", ".npy")
allowed = {"drowsy/assets/selfcheck_crops.npz", "drowsy/assets/demo.mp4"}  # both CC BY, attributed
problems += [f"data file in the wheel: {n}" for n in names
             if (n.lower().endswith(data) or "shared/" in n) and n not in allowed]
problems += [f"{n} is {i.file_size / 1e6:.1f} MB" for n, i in ((i.filename, i) for i in wheel.infolist())
             if i.file_size > 5_000_000]
problems += [f"tests in the wheel: {n}" for n in names if n.startswith("tests/")]
for p in problems:
    print("  " + p)
print(f"  {len(names)} files; eye model {'present' if 'drowsy/assets/eye_state.onnx' in names else 'MISSING'}")
sys.exit(1 if problems else 0)
EOF

step "install into a clean venv (no torch)"
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --upgrade pip
"$VPY" -m pip install -q "$WHEEL"
"$VPY" -m pip list --format=freeze | grep -i -E '^(numpy|mediapipe|onnxruntime|opencv|matplotlib|torch)' || true
if "$VPY" -c "import torch" 2>/dev/null; then fail "torch is importable in the clean venv"; fi
echo "import torch fails there, as it should"

cd "$WORK"  # away from the checkout: only the installed package can be imported
DROWSY="$WORK/venv/bin/drowsy"

step "drowsy info"
"$DROWSY" info | tee "$WORK/info.txt"
grep -q "eye model: $WORK/venv/.*/drowsy/assets/eye_state.onnx (bundled" "$WORK/info.txt" \
  || fail "drowsy info does not show the bundled model from the installed wheel"
grep -q "contract: ok" "$WORK/info.txt" || fail "the bundled eye model breaks its contract"

step "drowsy run --video $(basename "$CLIP") --headless"
"$DROWSY" run --video "$CLIP" --headless --no-alarm --out "$WORK/run.jsonl" --events "$WORK/events.jsonl"
FRAMES=$(wc -l < "$WORK/run.jsonl")
[ "$FRAMES" -gt 0 ] || fail "drowsy run wrote no frames"
"$VPY" - "$WORK/run.jsonl" <<'EOF' || fail "drowsy run wrote no score for any frame"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
scored = sum(r["p_closed"] is not None for r in recs)
print(f"  {len(recs)} frames, {scored} with eye scores")
sys.exit(0 if scored else 1)
EOF
if "$VPY" -c "import sys; import drowsy.runtime.run, drowsy.runtime.pipeline; sys.exit('torch' in sys.modules)"; then
  echo "the runtime modules do not import torch"
else
  fail "the runtime imported torch"
fi

step "drowsy demo --headless (the clip in the wheel)"
"$DROWSY" demo --headless >"$WORK/demo.out" 2>"$WORK/demo.err" || { cat "$WORK/demo.err"; fail "drowsy demo failed"; }
cat "$WORK/demo.out" "$WORK/demo.err"
grep -q "ALERT (microsleep)" "$WORK/demo.out" || fail "drowsy demo showed no microsleep alert"
tail -n 1 "$WORK/demo.err" | grep -q "^drowsy demo: 137 frames" || fail "drowsy demo did not end with its summary"

step "drowsy report"
if "$DROWSY" report "$WORK/run.jsonl" --events "$WORK/events.jsonl" -o "$WORK/report.png" 2>"$WORK/report.err"; then
  echo "report written ($(du -k "$WORK/report.png" | cut -f1) KB)"
else
  cat "$WORK/report.err"
  grep -q "pip install 'drowsy-eyes\[report\]'" "$WORK/report.err" || fail "drowsy report failed"
fi

step "drowsy train without the [train] extra"
set +e
"$DROWSY" train --data "$WORK" 2>"$WORK/train.err"
RC=$?
set -e
cat "$WORK/train.err"
[ "$RC" -eq 1 ] || fail "drowsy train exited $RC, expected 1"
[ "$(wc -l < "$WORK/train.err")" -eq 1 ] || fail "drowsy train printed more than one line"
grep -q "pip install 'drowsy-eyes\[train\]'" "$WORK/train.err" || fail "drowsy train does not say what to install"

printf '\ncheck_wheel: OK: %s installs without torch and runs (%s frames)\n' "$(basename "$WHEEL")" "$FRAMES"
