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
from starreid.app.config.tracker import TrackerConfig
from starreid.app.config.zmq import ZmqConfig


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

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        raise KeyError(f"no camera {camera_id!r} in the config (have: {', '.join(c.id for c in self.cameras)})")

    def camera_index(self, camera_id: str) -> int:
        return [c.id for c in self.cameras].index(self.camera(camera_id).id)
