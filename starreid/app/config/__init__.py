"""Config schemas (pydantic) and the one loader used at the edge; components receive plain values."""
from starreid.app.config.loader import KINDS, ConfigError, load_config, schema_for

__all__ = ["KINDS", "ConfigError", "load_config", "schema_for"]
