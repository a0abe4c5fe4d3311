"""Synthetic RGB-infrared walking-person tracklets in the HITSZ-VCM layout (see docs/synthetic.md)."""
