"""The gallery's Prometheus metrics (created on first import; safe to import twice)."""
from starreid.contracts import metrics as m

RECEIVED = m.counter("starreid_gallery_tracklets_received_total", "valid tracklets appended to the log",
                     ("camera", "modality"))
REJECTED = m.counter("starreid_gallery_tracklets_rejected_total",
                     "messages dropped, by reason (malformed, crop_too_large, not_a_tracklet, no_embedding, "
                     "embed_failed, dimension)", ("reason",))
MESSAGE_ERRORS = m.counter("starreid_gallery_message_errors_total",
                           "messages dropped after an unexpected error while handling them, by stage", ("stage",))
PROCESSED = m.counter("starreid_gallery_tracklets_processed_total",
                      "log entries resolved, by outcome (new, matched, duplicate)", ("outcome",))
LATENCY = m.histogram("starreid_gallery_resolution_latency_seconds",
                      "from a tracklet's arrival in the log to its committed resolution",
                      buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
IDENTITIES = m.gauge("starreid_gallery_identities", "identities in the gallery")
NEW_IDENTITIES = m.counter("starreid_gallery_identities_new_total", "identities created")
SCORES = m.histogram("starreid_gallery_match_score", "cosine score of the best candidate, by modality pair",
                     ("pair", "outcome"), buckets=tuple(round(-0.2 + 0.05 * i, 2) for i in range(25)))
LAG = m.gauge("starreid_gallery_stream_lag_seconds", "age of the oldest log entry in the batch being resolved")
PENDING = m.gauge("starreid_gallery_log_pending_entries", "log entries delivered but not yet acknowledged")
INDEX_SIZE = m.gauge("starreid_gallery_index_size_vectors", "exemplar vectors in the search index")
EVENTS = m.counter("starreid_gallery_events_published_total", "identity events published")
ERASURES = m.counter("starreid_gallery_erasures_total", "identities erased, by reason", ("reason",))
REDIS_ERRORS = m.counter("starreid_gallery_redis_errors_total", "failed Redis round trips (retried)")
REDIS_FULL = m.counter("starreid_gallery_redis_full_total",
                       "writes Redis refused at its memory cap (held and retried, never dropped)")
REDIS_MEMORY = m.gauge("starreid_gallery_redis_memory_used_bytes", "memory Redis uses (INFO memory)")
REDIS_MEMORY_LIMIT = m.gauge("starreid_gallery_redis_memory_limit_bytes", "Redis's maxmemory (0 = no cap)")
AUTH_FAILURES = m.counter("starreid_gallery_auth_failures_total",
                          "connections refused at the CURVE handshake, by socket (tracklets, events) and reason "
                          "(key: a client key not in authorized_clients; handshake: a wrong server key, plain TCP "
                          "or anything else that does not speak CURVE)", ("socket", "reason"))
