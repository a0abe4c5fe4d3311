"""starreid: streaming RGB-infrared person re-identification (glue: CLI, config, wire schema, metrics)."""

__version__ = "0.1.0"
