"""The deployment config: everything one machine's processes (workers, gallery, Redis) need."""
from typing import Literal

from pydantic import Field, model_validator

from starreid.app.config.base import Section
from starreid.app.config.cameras import CameraConfig
from starreid.app.config.gallery import GalleryConfig
from starreid.app.config.logs import LoggingConfig
from starreid.app.config.metrics import MetricsConfig
from starreid.app.config.model import ModelConfig
from starreid.app.config.redis import RedisConfig
from starreid.app.config.tracker import TrackerConfig, merge_tracker
from starreid.app.config.zmq import ZmqConfig, bind_for


def tcp_port(endpoint: str) -> int | None:
    """The port of a tcp:// ZeroMQ endpoint (None for ipc:// and inproc://, or a '*' port)."""
    if not endpoint.startswith("tcp://"):
        return None
    port = endpoint.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None


class DeploymentConfig(Section):
    kind: Literal["deployment"] = "deployment"
    cameras: list[CameraConfig] = Field(min_length=1)
    tracker: TrackerConfig = TrackerConfig()
    model: ModelConfig = ModelConfig()
    gallery: GalleryConfig = GalleryConfig()
    redis: RedisConfig = RedisConfig()
    zmq: ZmqConfig = ZmqConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _unique_camera_ids(self):
        ids = [c.id for c in self.cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _no_two_listeners_on_one_port(self):
        """Every address a process of this deployment binds on this machine is used once."""
        owners: dict[int, str] = {}
        clashes = []

        def claim(port: int | None, owner: str) -> None:
            if not port:
                return
            if port in owners:
                clashes.append(f"{owner} and {owners[port]} both use port {port}")
            owners.setdefault(port, owner)

        for key, value in self.metrics.model_dump().items():
            if key.endswith("_port"):
                claim(value, f"metrics.{key}")
        for i in range(len(self.cameras)):
            claim(self.metrics.worker_port_base + i if self.metrics.worker_port_base else 0,
                  f"the metrics of worker {i} (metrics.worker_port_base + {i})")
        for key in ("tracklets", "events"):  # the addresses the gallery binds, named as the config writes them
            bind = getattr(self.zmq, f"{key}_bind")
            claim(tcp_port(bind), f"zmq.{key}" if bind == bind_for(getattr(self.zmq, key)) else f"zmq.{key}_bind")
        if self.redis.embedded:
            claim(self.redis.port, "redis.port")
        if clashes:
            raise ValueError("; ".join(clashes))
        return self

    @model_validator(mode="after")
    def _camera_trackers_merge(self):
        """A camera's tracker override, merged over the tracker section, passes the section's own checks."""
        problems = []
        for i, cam in enumerate(self.cameras):
            try:
                merge_tracker(self.tracker, cam.tracker)
            except ValueError as exc:  # pydantic's ValidationError is one
                errors = getattr(exc, "errors", lambda: [{"msg": str(exc)}])()
                problems += [f"cameras[{i}].tracker over tracker: {e['msg'].removeprefix('Value error, ')}"
                             for e in errors]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def tracker_for(self, camera_id: str) -> TrackerConfig:
        """The tracker settings of one camera: the tracker section with the camera's own `tracker` on top."""
        return merge_tracker(self.tracker, self.camera(camera_id).tracker)

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(f"no camera {camera_id!r} in the config (have: {', '.join(c.id for c in self.cameras)})")

    def camera_index(self, camera_id: str) -> int:
        return [c.id for c in self.cameras].index(self.camera(camera_id).id)
