"""Every component is built from its validated config section by one constructor, and every default lives in
the schema only: a component built from an empty section carries the schema's defaults, and its __init__ has
no default of its own for a config value (so a default cannot drift, as hog_pyramid_step once did: 1.1 in the
schema, 1.05 in the detector)."""
import ast
import inspect
from pathlib import Path

import pytest
import zmq

from starreid.app.config.cameras import CameraConfig
from starreid.app.config.gallery import GalleryConfig
from starreid.app.config.model import ModelConfig
from starreid.app.config.redis import RedisConfig
from starreid.app.config.tracker import TrackerConfig
from starreid.app.config.zmq import ZmqConfig
from starreid.contracts.client import GalleryClient
from starreid.storage.redis_server import EmbeddedRedis
from starreid.storage.resolver import Resolver
from starreid.storage.service import GalleryService
from starreid.storage.vectors import ExemplarIndex
from starreid.streams.files import ImageFolderSource, VideoFileSource
from starreid.streams.live import LiveSource
from starreid.streams.open import open_source
from starreid.tracker.bytetrack import ByteTracker
from starreid.tracker.hog import HogPeopleDetector
from starreid.tracker.hog_mediapipe import HogMediaPipe
from starreid.tracker.pipeline import CameraPipeline
from starreid.tracker.sender import TrackletSender
from starreid.tracker.tracklets import TrackletBuilder
from starreid.tracker.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
# Constructor parameters that are not config values: collaborators and injection points.
NOT_CONFIG = {"self", "connect", "keys", "make_resolver", "embed", "opener", "detector", "tracker", "builder",
              "source", "pipeline", "sender", "arch", "camera", "modality", "path", "uri", "url", "weights",
              "tracklets_endpoint", "events_endpoint", "endpoint", "dim", "thresholds", "data_dir", "port"}
COMPONENTS = [ByteTracker, TrackletBuilder, CameraPipeline, HogMediaPipe, HogPeopleDetector, TrackletSender,
              GalleryClient, Worker, VideoFileSource, ImageFolderSource, LiveSource, Resolver, ExemplarIndex,
              GalleryService, EmbeddedRedis]


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_no_constructor_default_for_a_config_value(component):
    defaulted = [name for name, p in inspect.signature(component.__init__).parameters.items()
                 if p.default is not inspect.Parameter.empty and name not in NOT_CONFIG]
    assert defaulted == [], f"{component.__name__} defaults {defaulted}: a default belongs to the schema"


def test_no_catch_all_keyword_arguments_in_the_library():
    """A component fails on an argument it does not take (no **_unused swallowing a misspelt key)."""
    wrong = []
    for folder in ("starreid", "streams", "tracker", "reid", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.args.kwarg is not None:
                    if node.args.kwarg.arg.startswith("_"):
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} **{node.args.kwarg.arg}")
    assert wrong == []


def test_tracker_components_carry_the_schema_defaults(tmp_path):
    t = TrackerConfig()
    bt = ByteTracker.from_config(t)
    assert (bt.high_score, bt.low_score, bt.new_track_score, bt.match_iou, bt.max_lost, bt.min_hits,
            bt.lost_match_dist) == (t.high_score, t.low_score, t.new_track_score, t.match_iou, t.max_lost_frames,
                                    t.min_hits, t.lost_match_dist)
    b = TrackletBuilder.from_config(t, "c", "rgb")
    assert (b.length, b.stride, b.min_frames, b.jpeg_quality, b.pose_every, b.purity_split) == (
        t.tracklet_len, t.tracklet_stride, t.min_frames, t.jpeg_quality, t.pose_every, t.purity_split)
    hog = HogMediaPipe.from_config(t)._hog
    assert (hog.scale, hog.hit_threshold, hog.pyramid_step) == (t.detect_scale, t.hog_hit_threshold,
                                                                t.hog_pyramid_step)
    p = CameraPipeline.from_config(t, "c", "rgb", 64, 32)
    assert (p.detect_every, p.crop_pad, p.height, p.width) == (t.detect_every, t.crop_pad, 64, 32)
    z = ZmqConfig()
    s = TrackletSender.from_config(z, t.model_copy(update={"spool_dir": str(tmp_path)}), "c")
    try:
        assert (s.max_unconfirmed, s._queue.maxsize, s._client.resend_after_s) == (
            z.max_unconfirmed, t.queue_size, z.resend_after_s)
        assert s._client._push.getsockopt(zmq.SNDHWM) == z.send_hwm
        assert s.spool.folder == tmp_path / "c"
    finally:
        s.close(0.1)


def test_sources_carry_the_schema_defaults(tmp_path):
    folder = open_source(CameraConfig(id="c", source=str(tmp_path), modality="rgb"))
    assert isinstance(folder, ImageFolderSource) and folder.fps == CameraConfig.model_fields["fps"].default
    cam = CameraConfig(id="c", source="http://127.0.0.1:9/x.mjpg", modality="ir")
    live = open_source(cam)
    assert isinstance(live, LiveSource)
    assert (live.timeout, live._backoff.max_delay) == (cam.timeout_s, cam.reconnect_max_s)


def test_gallery_components_carry_the_schema_defaults(tmp_path):
    g, z, m = GalleryConfig(), ZmqConfig(tracklets="tcp://127.0.0.1:*", events="tcp://127.0.0.1:*"), ModelConfig()
    r = Resolver.from_config(g)
    assert r.thresholds == g.thresholds.model_dump()
    assert (r.exemplars, r.novelty, r.candidates, r.min_transit_s) == (g.exemplars_per_identity, g.novelty,
                                                                       g.candidates, g.min_transit_s)
    assert r._index_args == {"exact_below": g.exact_below, "pca_dim": g.index.pca_dim, "nlist": g.index.nlist,
                             "nprobe": g.index.nprobe, "search_threads": g.index.search_threads}
    service = GalleryService.from_config(g, z, m, connect=lambda: None, keys=None, embed=None)
    try:
        assert (service.batch_size, service.dedupe_ttl_s, service.drain_timeout_s) == (
            g.batch_size, g.dedupe_ttl_s, g.drain_timeout_s)
        assert service._house_args == {"retention_s": g.retention_s, "retention_sweep_s": g.retention_sweep_s,
                                       "log_retention_s": g.log_retention_s,
                                       "events_retention_s": g.events_retention_s}
        assert service.max_crop == (int(m.height * g.max_crop_scale), int(m.width * g.max_crop_scale))
        assert service._recv_budget == g.recv_budget_mb << 20 and service._cache_budget == g.cache_budget_mb << 20
    finally:
        service._pull.close(0)
        service._pub.close(0)
    rc = RedisConfig()
    server = EmbeddedRedis.from_config(rc)
    assert (str(server.data_dir), server.port) == (str(Path(rc.data_dir)), rc.port)
