"""starreid: streaming RGB-infrared person re-identification.

One namespace, in layers that import downward only: starreid.contracts (wire schema, metrics, logging, the
tracklet-sending client, backoff) at the bottom; the stages starreid.streams, .tracker, .reid and .storage
(installed from the repository's folders of those names); starreid.app (CLI, verbs, config schema,
supervisor) at the top."""

__version__ = "0.1.0"
