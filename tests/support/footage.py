"""Real footage the tests use: vtest.avi from Debian's opencv-doc (installed by deploy/setup.sh)."""
from pathlib import Path

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
