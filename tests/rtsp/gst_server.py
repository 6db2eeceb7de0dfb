"""A local RTSP server for the reader tests, on GStreamer's RTSP server.

Runs under Debian's /usr/bin/python3 (the one with `gi`), never the venv: the tests start it as a subprocess.
It serves pre-encoded H.264 as it is (no re-encoding), so a test camera costs about nothing:

    /usr/bin/python3 gst_server.py [--port N] /mount=FILE.264 [/other=FILE.mp4 ...]

A `.264`/`.h264` file (Annex B) loops forever; any other file (mp4, mkv) plays once. Every client gets its
own pipeline from the start of the file. It prints `PORT <n>` on stdout once it listens on 127.0.0.1, and
`--check` says whether the bindings and elements it needs are here (exit 0) or what is missing (exit 1).
"""

from __future__ import annotations

import argparse
import signal
import sys

NEEDED_ELEMENTS = ("multifilesrc", "filesrc", "h264parse", "rtph264pay", "qtdemux", "matroskademux", "identity")


def _load():
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    return GLib, Gst, GstRtspServer


def launch_line(path: str, fps: int) -> str:
    """A looping raw H.264 file has no timestamps (Annex B carries none): `stamp` gets them from a pad probe
    (see `_stamp`), and the media's sink then sends the frames at real speed."""
    loc = path.replace('"', '\\"')
    pay = "rtph264pay name=pay0 pt=96 config-interval=1"
    if path.endswith((".264", ".h264")):
        return (
            f'( multifilesrc location="{loc}" loop=true caps=video/x-h264,stream-format=byte-stream '
            f"! h264parse ! video/x-h264,alignment=au ! identity name=stamp ! {pay} )"
        )
    demux = "matroskademux" if path.endswith((".mkv", ".webm")) else "qtdemux"
    return f'( filesrc location="{loc}" ! {demux} ! h264parse ! {pay} )'


def _stamp_on_configure(Gst, fps: int):
    """Give each access unit of a looping file the next frame time, so the loop is one endless stream."""
    step = Gst.SECOND // fps

    def on_configure(_factory, media) -> None:
        stamp = media.get_element().get_by_name("stamp")
        if stamp is None:
            return
        count = [0]

        def probe(_pad, info):
            buf = info.get_buffer()
            buf.pts = buf.dts = count[0] * step
            buf.duration = step
            count[0] += 1
            return Gst.PadProbeReturn.OK

        stamp.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)

    return on_configure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("mounts", nargs="*", help="/path=FILE")
    args = ap.parse_args(argv)
    try:
        GLib, Gst, GstRtspServer = _load()
    except (ImportError, ValueError) as exc:
        print(f"MISSING GStreamer python bindings: {exc}", flush=True)
        return 1
    missing = [e for e in NEEDED_ELEMENTS if Gst.ElementFactory.find(e) is None]
    if missing:
        print(f"MISSING GStreamer elements: {', '.join(missing)}", flush=True)
        return 1
    if args.check:
        print("OK", flush=True)
        return 0

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for spec in args.mounts:
        mount, _, path = spec.partition("=")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(path, args.fps))
        factory.set_shared(False)
        factory.connect("media-configure", _stamp_on_configure(Gst, args.fps))
        mounts.add_factory(mount, factory)
    if server.attach(None) == 0:
        print(f"FAILED to listen on 127.0.0.1:{args.port}", flush=True)
        return 1
    print(f"PORT {server.get_bound_port()}", flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
