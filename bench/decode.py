"""CPU cost of reading one 720p 25 fps H.264 camera at a low sample rate, strategy by strategy.

At 1-2 sampled frames a second most of a reader's CPU goes on frames nobody looks at. This measures
CPU-seconds per stream-second (process CPU time over the clip's duration, single-threaded decoders, medians of
3) for: PyAV decoding and converting everything, PyAV decoding everything but converting only sampled frames,
PyAV keyframes only (skip_frame NONKEY), PyAV skipping non-reference frames (NONREF), OpenCV read() of every
frame, OpenCV grab() of every frame with retrieve() of the sampled ones, and the live reader's own auto mode
(`detector.readers.SampledDecoder`). Clips are rendered from a real street still with moving objects, GOP 25
and GOP 50, so keyframes-only is correct at 1 fps for the first and undersamples the second.

    python -m bench.decode [--seconds 20] [--sample-fps 1] [--bframes 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

from detector.readers import SampledDecoder
from detector.sampling import Sampler

STILL = "muenster-webcam/pedestrians-bikes-shopfronts.jpg"


def street_still(width: int, height: int) -> np.ndarray:
    """A real street still at the clip's size; a plain gradient when the shared media are not here."""
    try:
        from frontage.scenarios.sprites import media_dir

        img = cv2.imread(str(media_dir() / STILL))
    except FileNotFoundError:
        img = None
    if img is None:
        ramp = np.linspace(40, 200, width, dtype=np.uint8)
        return np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def render_clip(path: str | Path, *, seconds: float, fps: int = 25, gop: int = 25, size: tuple[int, int] = (1280, 720),
                bframes: int = 0, preset: str = "veryfast", crf: int = 23) -> Path:  # fmt: skip
    """Encode a street-camera-like H.264 clip: a fixed view with parts of the scene moving across it.

    A fixed GOP (no scene-cut keyframes) like an IP camera's. `.264`/`.h264` writes raw Annex B (what the test
    RTSP server loops), anything else a container."""
    path = Path(path)
    w, h = size
    bg = street_still(w, h)
    car = bg[h // 2 : h // 2 + h // 6, w // 5 : w // 5 + w // 5].copy()  # a patch of the scene, driven across it
    walker = bg[h // 3 : h // 3 + h // 4, w // 2 : w // 2 + w // 14].copy()
    fmt = "h264" if path.suffix in (".264", ".h264") else None
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"
    with av.open(str(path), "w", format=fmt) as out:
        st = out.add_stream("libx264", rate=fps, options={"preset": preset, "crf": str(crf), "x264-params": params})
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        n = int(round(seconds * fps))
        for i in range(n):
            img = bg.copy()
            x = int((i * 7) % (w - car.shape[1]))
            img[int(h * 0.6) : int(h * 0.6) + car.shape[0], x : x + car.shape[1]] = car
            y = int(h * 0.45 + 20 * np.sin(i / 9))
            xw = int(w * 0.8 - (i * 2) % (w // 2))
            img[y : y + walker.shape[0], xw : xw + walker.shape[1]] = walker
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


# Each strategy reads the whole clip and returns (frames decoded, frames delivered as BGR arrays).


def _pyav(path: Path, sample_fps: float, skip: str, convert_all: bool) -> tuple[int, int]:
    decoded = delivered = 0
    sampler = Sampler(sample_fps)
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.codec_context.thread_count = 1
        st.codec_context.skip_frame = skip
        for pkt in c.demux(st):
            for frame in pkt.decode():
                decoded += 1
                due = sampler.due(frame.time + 0.02)
                if convert_all or due:
                    img = frame.to_ndarray(format="bgr24")
                    delivered += due
                    del img
    return decoded, delivered


def pyav_all_convert_all(path: Path, fps: float) -> tuple[int, int]:
    return _pyav(path, fps, "DEFAULT", True)


def pyav_all_convert_sampled(path: Path, fps: float) -> tuple[int, int]:
    return _pyav(path, fps, "DEFAULT", False)


def pyav_nonkey(path: Path, fps: float) -> tuple[int, int]:
    return _pyav(path, fps, "NONKEY", False)


def pyav_nonref(path: Path, fps: float) -> tuple[int, int]:
    return _pyav(path, fps, "NONREF", False)


def reader_auto(path: Path, fps: float) -> tuple[int, int]:
    delivered = 0
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        dec = SampledDecoder(st, fps, "auto", threads=1)
        for pkt in c.demux(st):
            for _t, frame in dec.feed(pkt):
                frame.to_ndarray(format="bgr24")
                delivered += 1
    return dec.decoded, delivered


def _opencv(path: Path, fps: float, grab: bool) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    rate = cap.get(cv2.CAP_PROP_FPS) or 25.0
    sampler = Sampler(fps)
    decoded = delivered = 0
    try:
        while True:
            if grab:
                if not cap.grab():
                    break
                decoded += 1
                if sampler.due((decoded - 1) / rate + 0.02):
                    ok, _img = cap.retrieve()
                    delivered += ok
            else:
                ok, _img = cap.read()
                if not ok:
                    break
                decoded += 1
                delivered += sampler.due((decoded - 1) / rate + 0.02)
    finally:
        cap.release()
    return decoded, delivered


def opencv_read(path: Path, fps: float) -> tuple[int, int]:
    return _opencv(path, fps, grab=False)


def opencv_grab_retrieve(path: Path, fps: float) -> tuple[int, int]:
    return _opencv(path, fps, grab=True)


STRATEGIES: dict[str, Callable[[Path, float], tuple[int, int]]] = {
    "PyAV all frames, convert all": pyav_all_convert_all,
    "PyAV all frames, convert sampled": pyav_all_convert_sampled,
    "PyAV NONKEY (keyframes only)": pyav_nonkey,
    "PyAV NONREF": pyav_nonref,
    "OpenCV read() every frame": opencv_read,
    "OpenCV grab() + retrieve() sampled": opencv_grab_retrieve,
    "frontage reader (auto)": reader_auto,
}


def measure(
    fn: Callable[[Path, float], tuple[int, int]], path: Path, fps: float, repeats: int
) -> tuple[float, int, int]:
    """Median CPU seconds of `repeats` runs (process CPU: every decoder thread counts)."""
    cpu = []
    for _ in range(repeats):
        t0 = time.process_time()
        decoded, delivered = fn(path, fps)
        cpu.append(time.process_time() - t0)
    return statistics.median(cpu), decoded, delivered


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="clip length (stream seconds)")
    ap.add_argument("--sample-fps", type=float, default=1.0)
    ap.add_argument("--bframes", type=int, default=0, help="B-frames in the clips (IP cameras mostly use none)")
    ap.add_argument("--gops", default="25,50")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="keep the clips here (default: a temporary folder)")
    args = ap.parse_args(argv)
    gops = [int(g) for g in args.gops.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        clips = {}
        for gop in gops:
            clip = folder / f"street-720p25-gop{gop}-b{args.bframes}.mp4"
            if not clip.exists():
                render_clip(clip, seconds=args.seconds, gop=gop, bframes=args.bframes)
            clips[gop] = clip
        print(f"720p 25 fps H.264, {args.seconds:g} s clips, bframes={args.bframes}, sample {args.sample_fps:g} fps")
        print(f"CPU-seconds per stream-second (median of {args.repeats}), frames decoded and delivered per second")
        head = f"{'strategy':36}" + "".join(f" | {'GOP ' + str(g):>8} {'dec/s':>6} {'out/s':>6}" for g in gops)
        print(head)
        print("-" * len(head))
        results: dict[str, dict[int, tuple[float, float]]] = {}
        for name, fn in STRATEGIES.items():
            row = f"{name:36}"
            for gop in gops:
                cpu, decoded, delivered = measure(fn, clips[gop], args.sample_fps, args.repeats)
                results.setdefault(name, {})[gop] = (cpu / args.seconds, delivered / args.seconds)
                row += f" | {cpu / args.seconds:8.4f} {decoded / args.seconds:6.1f} {delivered / args.seconds:6.2f}"
            print(row, flush=True)
        for gop in gops:
            # Correct means the model still gets the sample rate (keyframes only cannot when they are too rare).
            correct = {n: r[gop][0] for n, r in results.items() if r[gop][1] >= 0.9 * args.sample_fps}
            best = min(correct, key=correct.get)
            print(f"GOP {gop}: cheapest strategy that delivers {args.sample_fps:g} fps: {best} ({correct[best]:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
