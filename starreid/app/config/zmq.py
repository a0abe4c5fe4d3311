"""ZeroMQ endpoints: workers PUSH tracklets to the gallery's PULL; the gallery PUBlishes identity events,
which workers also subscribe to: a tracklet is kept and resent until its event confirms it.

Each endpoint has a connect address (what workers dial: `tracklets`, `events`) and a bind address (what the
gallery listens on: `tracklets_bind`, `events_bind`), so one config file serves every host. A bind address
left unset follows its connect address: a loopback one (127.x, localhost, ::1) binds itself, so a one-machine
deployment stays on loopback; any other binds the same port on every interface (`tcp://*:PORT`).

`curve` turns on ZeroMQ CURVE: encryption of both sockets and authentication of every worker by its public
key (see docs/deployment.md; `starreid keys` makes the key files)."""
from __future__ import annotations

from pydantic import Field, model_validator

from starreid.app.config.base import Section

_ENDPOINT = r"^(tcp|ipc|inproc)://"
_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def bind_for(connect: str) -> str:
    """The bind address that follows a connect address (see the module's docstring)."""
    if not connect.startswith("tcp://"):
        return connect  # ipc:// and inproc:// name the same thing on both sides
    host, _, port = connect[len("tcp://"):].rpartition(":")
    if host == "localhost":
        return f"tcp://127.0.0.1:{port}"  # ZeroMQ binds interfaces or addresses, not host names
    if host.startswith(_LOOPBACK) or host in ("*", "0.0.0.0"):
        return connect
    return f"tcp://*:{port}"


class CurveConfig(Section):
    """Key files made by `starreid keys` (ZeroMQ certificates: NAME.key holds the public key, NAME.key_secret
    both). Each process reads only the files its role needs, so one config serves every host while each host
    holds only its own secrets."""
    server_public_key: str | None = Field(default=None, description="workers: the gallery's public key file "
                                          "(gallery.key; a .key_secret file works too)")
    server_secret_key: str | None = Field(default=None, description="gallery: its own secret key file "
                                          "(gallery.key_secret); never copy it to a camera host")
    client_secret_key: str | None = Field(default=None, description="workers: this host's secret key file "
                                          "(camera-host.key_secret)")
    authorized_clients: str | None = Field(default=None, description="gallery: folder of the public key files "
                                           "(*.key) of every worker allowed in; re-read when an unknown key "
                                           "knocks, so adding a camera host needs no restart")


class ZmqConfig(Section):
    tracklets: str = Field(default="tcp://127.0.0.1:5555", pattern=_ENDPOINT,
                           description="workers connect here to PUSH tracklets")
    events: str = Field(default="tcp://127.0.0.1:5556", pattern=_ENDPOINT,
                        description="workers connect here to SUBscribe to identity events")
    tracklets_bind: str | None = Field(default=None, pattern=_ENDPOINT, description="the gallery binds its PULL "
                                       "here; null = follow `tracklets` (loopback binds itself, any other host "
                                       "binds tcp://*:PORT)")
    events_bind: str | None = Field(default=None, pattern=_ENDPOINT, description="the gallery binds its PUB "
                                    "here; null = follow `events` as tracklets_bind follows tracklets")
    curve: CurveConfig | None = Field(default=None, description="CURVE encryption and worker authentication; "
                                      "null = plain TCP (trusted networks only)")
    send_hwm: int = Field(default=1000, ge=1, description="tracklets queued per worker before back-pressure")
    recv_hwm: int = Field(default=1000, ge=1, description="tracklets the gallery queues before back-pressure")
    events_hwm: int = Field(default=10_000, ge=1, description="events queued per subscriber (PUB drops past it)")
    max_unconfirmed: int = Field(default=500, ge=1, description="tracklets a worker keeps for resending until "
                                                                "the gallery confirms them; back-pressure past it")
    resend_after_s: float = Field(default=10.0, gt=0, description="resend a tracklet not confirmed after this long")

    @model_validator(mode="before")
    @classmethod
    def _binds_follow_connects(cls, data):
        if isinstance(data, dict):
            data = dict(data)
            for key in ("tracklets", "events"):
                connect = data.get(key, cls.model_fields[key].default)
                if data.get(f"{key}_bind") is None and isinstance(connect, str):
                    data[f"{key}_bind"] = bind_for(connect)
        return data
