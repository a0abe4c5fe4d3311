"""A small MJPEG-over-HTTP server: serves frames as multipart/x-mixed-replace, the way IP cameras do.

Used by the tests as a real network camera on 127.0.0.1 (stop and restart it on the same port to exercise
reconnects), and by people to replay a video file as a camera: `python -m streams.mjpeg_server VIDEO`.
"""
from __future__ import annotations

import argparse
import itertools
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable

BOUNDARY = "starreidframe"


class MjpegServer:
    """Serves the JPEG bytes from `parts` (an iterable factory, called per client) at `fps` on every path."""

    def __init__(self, parts: Callable[[], Iterable[bytes]], host: str = "127.0.0.1", port: int = 0,
                 fps: float = 25.0):
        self.parts, self.host, self.fps = parts, host, fps
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def start(self) -> "MjpegServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                owner._conns.add(self.connection)
                try:
                    for data in owner.parts():
                        if owner._stopping.is_set():
                            return
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                        time.sleep(1.0 / owner.fps)
                except OSError:  # client went away or the server is stopping
                    return
                finally:
                    owner._conns.discard(self.connection)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port  # a restart reuses the same port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops accepting and ends every open stream (clients see the connection close)."""
        self._stopping.set()
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> "MjpegServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def video_parts(path: str, quality: int = 85, loop: bool = True) -> Callable[[], Iterable[bytes]]:
    """A parts factory replaying a video file as JPEG frames (looping by default)."""
    import cv2

    def parts():
        for _ in itertools.count() if loop else range(1):
            cap = cv2.VideoCapture(path)
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                yield cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
            cap.release()

    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a video file as an MJPEG-over-HTTP camera.")
    parser.add_argument("video", help="video file to replay (loops)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8081, help="port to bind")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second to send")
    args = parser.parse_args(argv)
    server = MjpegServer(video_parts(args.video), args.host, args.port, args.fps).start()
    print(f"serving {args.video} at {server.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
