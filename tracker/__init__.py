"""Detection, pose, tracking and tracklet cutting for camera workers (see docs/ingest.md)."""
