#!/usr/bin/env bash
# Set up, then run the whole pipeline once on the embedded default: a worker on vtest.avi, the gallery, an
# embedded Redis; print the identities it found. Idempotent: a second run finds the same tracklets already
# processed (tracklet ids are stable) and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
config=configs/quickstart.yaml
model=data/quickstart/star-r18-untrained
if [ ! -f "$model.onnx" ]; then
  mkdir -p "$(dirname "$model")"
  .venv/bin/starreid export --random-init --config "$config" --out "$model" --format onnx
fi
.venv/bin/starreid run --config "$config" --until-done
.venv/bin/starreid query --config "$config"
