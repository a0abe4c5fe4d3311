#!/usr/bin/env bash
# Set up, then run the whole pipeline once on the embedded default: a worker on vtest.avi, the gallery, an
# embedded Redis. The model is the ImageNet MobileNetV2 backbone (STAR's baseline variant, see
# configs/quickstart.yaml), calibrated on the footage itself before the run. Prints the identities it found
# and writes an identity sheet, a timeline and an annotated video to data/quickstart/report/.
# Idempotent: a second run finds the same tracklets already processed (tracklet ids are stable) and changes
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
config=configs/quickstart.yaml
model=data/quickstart/star-mbv2-imagenet
if [ ! -f "$model.onnx" ]; then
  mkdir -p "$(dirname "$model")"
  .venv/bin/starreid export --pretrained imagenet --config "$config" --out "$model" --format onnx
fi
if [ ! -f "$model.onnx.calibration.json" ]; then
  .venv/bin/starreid calibrate --config "$config"
fi
.venv/bin/starreid run --config "$config" --until-done --report data/quickstart/report
.venv/bin/starreid query --config "$config"
echo
echo "report: data/quickstart/report/ (identities.png: a row per identity; timeline.png; street.mp4 and"
echo "street.png: the clip with each person boxed in the colour of their identity)"
