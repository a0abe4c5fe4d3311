"""Config sections for components built in tests, validated by the schema like a config file's."""
from starreid.app.config.cameras import CameraConfig


def camera(source: str, camera_id: str, modality: str = "rgb", backoff_max: float | None = None,
           **values) -> CameraConfig:
    """A camera section (the id, source and modality positional as the tests read best)."""
    if backoff_max is not None:
        values["reconnect_max_s"] = backoff_max
    return CameraConfig(id=camera_id, source=str(source), modality=modality, **values)


def sender(tracklets: str, events: str, spool_dir, queue_size: int | None = None, camera: str = "cam0", **zmq):
    """A TrackletSender built from zmq and tracker sections with these endpoints, spool folder and settings."""
    from starreid.app.config.tracker import TrackerConfig
    from starreid.app.config.zmq import ZmqConfig
    from starreid.tracker.sender import TrackletSender

    tracker = TrackerConfig(spool_dir=str(spool_dir), **({} if queue_size is None else {"queue_size": queue_size}))
    return TrackletSender.from_config(ZmqConfig(tracklets=tracklets, events=events, **zmq), tracker, camera)


def gallery_client(tracklets: str, events: str, **zmq):
    """A GalleryClient on these endpoints, built from a zmq section (its defaults, then `zmq`)."""
    from starreid.app.config.zmq import ZmqConfig
    from starreid.contracts.client import GalleryClient

    return GalleryClient.from_config(ZmqConfig(tracklets=tracklets, events=events, **zmq))
