"""The bottom layer every stage imports: the wire schema, the metrics registry, logging, the tracklet-sending
client and backoff. It imports no stage and nothing of the application."""
