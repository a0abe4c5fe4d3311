"""ZeroMQ endpoints: workers PUSH tracklets to the gallery's PULL; the gallery PUBlishes identity events,
which workers also subscribe to: a tracklet is kept and resent until its event confirms it."""
from pydantic import Field

from starreid.app.config.base import Section


class ZmqConfig(Section):
    tracklets: str = Field(default="tcp://127.0.0.1:5555", pattern=r"^(tcp|ipc|inproc)://")
    events: str = Field(default="tcp://127.0.0.1:5556", pattern=r"^(tcp|ipc|inproc)://")
    send_hwm: int = Field(default=1000, ge=1, description="tracklets queued per worker before back-pressure")
    recv_hwm: int = Field(default=1000, ge=1, description="tracklets the gallery queues before back-pressure")
    events_hwm: int = Field(default=10_000, ge=1, description="events queued per subscriber (PUB drops past it)")
    max_unconfirmed: int = Field(default=500, ge=1, description="tracklets a worker keeps for resending until "
                                                                "the gallery confirms them; back-pressure past it")
    resend_after_s: float = Field(default=10.0, gt=0, description="resend a tracklet not confirmed after this long")
