"""ZeroMQ CURVE for the two sockets between workers and the gallery: key files, and the socket options of each
side. The gallery's PULL and PUB are CURVE servers (its secret key); every worker's PUSH and SUB are clients
(their own key pair, and the gallery's public key). Which clients may connect is the gallery's business
(starreid.storage.security: a ZAP handler over a folder of public keys).

Key files are ZeroMQ certificates, as `starreid keys` (zmq.auth.create_certificates) writes them: NAME.key
holds the public key, NAME.key_secret the public and the secret key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import zmq


class KeyFileError(ValueError):
    """A key file that is missing, unreadable, or lacks the key asked for."""


def _require_curve() -> None:
    if not zmq.has("curve"):
        raise KeyFileError("zmq.curve is set but this libzmq has no CURVE support (pyzmq's wheels have it)")


def read_key_file(path: str, secret: bool) -> tuple[bytes, bytes | None]:
    """(public, secret) Z85 keys from a certificate file; secret=True requires the secret key in it."""
    import zmq.auth

    if not Path(path).is_file():
        raise KeyFileError(f"no such key file: {path}")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path} is not a ZeroMQ key file ({exc})") from None
    if not public or len(public) != 40:
        raise KeyFileError(f"{path} holds no public key")
    if secret and (not secret_key or len(secret_key) != 40):
        raise KeyFileError(f"{path} holds no secret key (give the NAME.key_secret file)")
    return public, secret_key


@dataclass(frozen=True)
class ClientKeys:
    """A worker's side: the gallery's public key and this host's key pair (Z85)."""
    server_public: bytes
    public: bytes
    secret: bytes

    @classmethod
    def from_config(cls, curve) -> "ClientKeys | None":
        """From the zmq.curve section (server_public_key, client_secret_key); None without one."""
        if curve is None:
            return None
        _require_curve()
        if not curve.server_public_key or not curve.client_secret_key:
            raise KeyFileError("a worker needs zmq.curve.server_public_key and zmq.curve.client_secret_key")
        server_public, _ = read_key_file(curve.server_public_key, secret=False)
        public, secret = read_key_file(curve.client_secret_key, secret=True)
        return cls(server_public, public, secret)

    def apply(self, sock: zmq.Socket) -> None:
        """Make sock a CURVE client of the gallery (before connect)."""
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret


@dataclass(frozen=True)
class ServerKeys:
    """The gallery's side: its key pair (Z85) and the folder of the public keys it lets in."""
    public: bytes
    secret: bytes
    authorized_clients: str

    @classmethod
    def from_config(cls, curve) -> "ServerKeys | None":
        """From the zmq.curve section (server_secret_key, authorized_clients); None without one."""
        if curve is None:
            return None
        _require_curve()
        if not curve.server_secret_key or not curve.authorized_clients:
            raise KeyFileError("the gallery needs zmq.curve.server_secret_key and zmq.curve.authorized_clients")
        public, secret = read_key_file(curve.server_secret_key, secret=True)
        if not Path(curve.authorized_clients).is_dir():
            raise KeyFileError(f"no such folder of authorized client keys: {curve.authorized_clients}")
        return cls(public, secret, str(curve.authorized_clients))

    def apply(self, sock: zmq.Socket) -> None:
        """Make sock a CURVE server (before bind)."""
        sock.curve_server = True
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret
