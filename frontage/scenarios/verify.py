"""Check rendered scenarios against the real model: does it see what the script pasted, and nothing else?

For every scenario video in OUT_DIR (rendered by `python -m frontage.scenarios.render OUT_DIR`) this decodes
the frames the pipeline would sample, runs the configured detector on them and prints, per actor of interest,
how often it was detected with the right class and landed in the frontage the truth says; how long its longest
run of misses was while the truth has it in a frontage (must stay under exit_grace_s, or one parked car becomes
two cases); in how many frames two rule-class boxes fit it (bus and truck both become truck under the class
map, so the pipeline must merge them); and every rule-class detection inside a frontage that no scripted actor
explains (background or a misread sprite).

    python -m frontage.scenarios.verify OUT_DIR [NAME ...]

Exit status 1 when a check fails, so the lead can rerun it after changing sprites, spots or the model.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from detector.sampling import Sampler
from detector.types import Detection
from frontage.config import Config, Rule, RuleKind, parse_config
from frontage.scenarios.render import XYXY, Actor, Scenario, clip_box, frontage_zones, shop_at
from zones.geometry import iou

MATCH_IOU = 0.3
MIN_STILL_RATE = 0.9  # detected with the right class in this share of stationary, unhidden sampled frames
HIDDEN = 0.5  # an actor counts as hidden when later-drawn actors cover this share of its box


@dataclass
class ActorStats:
    still: int = 0
    still_hit: int = 0
    still_class_ok: int = 0
    still_zone_ok: int = 0
    hidden: int = 0
    hidden_hit: int = 0
    moving: int = 0
    moving_hit: int = 0
    miss_run_s: float = 0.0
    doubled: int = 0  # frames where two rule-class boxes fit the one object (e.g. bus and truck, both -> truck)
    classes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class Spurious:
    frames: int = 0
    longest_s: float = 0.0
    best_conf: float = 0.0
    example: XYXY | None = None


def sampled_frames(video: Path, sample_fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """(t, BGR frame) for the frames the pipeline's sampler would send to the model."""
    sampler = Sampler(sample_fps)
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if sampler.due(t):
                yield t, frame.to_ndarray(format="bgr24")


def rule_of(cfg: Config, cls: str) -> list[tuple[RuleKind, Rule]]:
    return [(k, r) for k, r in cfg.rules.items() if r.enabled and cls in r.classes]


def actor_class(cfg: Config, actor: Actor) -> str:
    return cfg.detector.class_map.get(actor.sprite.coco_class, actor.sprite.coco_class)


def is_still(actor: Actor, t: float) -> bool:
    return actor.state(t - 0.5)[:2] == actor.state(t)[:2] == actor.state(t + 0.5)[:2]


def hidden_share(scenario: Scenario, idx: int, t: float) -> float:
    """Share of actor idx's box covered by the object boxes of actors drawn after it."""
    box = scenario.actors[idx].object_box(t)
    area = (box[2] - box[0]) * (box[3] - box[1])
    covered = 0.0
    for other in scenario.actors[idx + 1 :]:
        if other.visible(t):
            o = other.object_box(t)
            covered += max(0.0, min(box[2], o[2]) - max(box[0], o[0])) * max(0.0, min(box[3], o[3]) - max(box[1], o[1]))
    return min(1.0, covered / area) if area > 0 else 0.0


class Checker:
    """Accumulates per-actor hit rates and unexplained detections over one scenario's sampled frames."""

    def __init__(self, scenario: Scenario, cfg: Config):
        self.sc, self.cfg = scenario, cfg
        cam = cfg.cameras[0].id
        self.zones = frontage_zones(cfg, cam)
        self.of_interest = [i for i, a in enumerate(scenario.actors) if rule_of(cfg, actor_class(cfg, a))]
        self.stats = {i: ActorStats() for i in self.of_interest}
        self._miss_since: dict[int, float | None] = dict.fromkeys(self.of_interest)
        self.spurious: dict[tuple[str, str], Spurious] = defaultdict(Spurious)
        self._spur_since: dict[tuple[str, str], float] = {}
        self.frames = 0

    def add(self, t: float, dets: Sequence[Detection]) -> None:
        self.frames += 1
        explained: set[int] = set()
        for i in self.of_interest:
            explained |= self._check_actor(i, t, dets)
        self._check_spurious(t, [d for j, d in enumerate(dets) if j not in explained])

    def _visible_box(self, actor: Actor, t: float) -> XYXY | None:
        return clip_box(actor.object_box(t), self.sc.size) if actor.visible(t) else None

    def _check_actor(self, i: int, t: float, dets: Sequence[Detection]) -> set[int]:
        actor, st = self.sc.actors[i], self.stats[i]
        box = self._visible_box(actor, t)
        full = actor.object_box(t)
        if box is None or (box[2] - box[0]) * (box[3] - box[1]) < 0.8 * (full[2] - full[0]) * (full[3] - full[1]):
            self._miss_since[i] = None
            return set()
        cls = actor_class(self.cfg, actor)
        kinds = rule_of(self.cfg, cls)
        rule_classes = {c for _, r in kinds for c in r.classes}
        best = max(
            ((iou(box, d.xyxy), j) for j, d in enumerate(dets) if d.cls in rule_classes),
            default=(0.0, -1),
        )
        hit = best[0] >= MATCH_IOU
        det = dets[best[1]] if hit else None
        if det is not None:
            st.classes[det.cls] += 1
        matched = {j for j, d in enumerate(dets) if d.cls in rule_classes and iou(box, d.xyxy) >= MATCH_IOU}
        st.doubled += len(matched) > 1
        if hidden_share(self.sc, i, t) >= HIDDEN:
            st.hidden += 1
            st.hidden_hit += hit
        elif is_still(actor, t):
            st.still += 1
            st.still_hit += hit
            if det is not None:
                st.still_class_ok += det.cls == cls
                rule = kinds[0][1]
                st.still_zone_ok += shop_at(det.xyxy, self.zones, rule) == shop_at(box, self.zones, rule)
        else:
            st.moving += 1
            st.moving_hit += hit
        if shop_at(box, self.zones, kinds[0][1]) is None:
            self._miss_since[i] = None
        else:
            self._track_misses(i, t, det is not None and det.cls == cls)
        return matched

    def _track_misses(self, i: int, t: float, hit: bool) -> None:
        """Longest run of consecutive misses while the truth has the actor inside a frontage."""
        if hit:
            self._miss_since[i] = None
            return
        since = self._miss_since[i]
        since = t if since is None else since
        self._miss_since[i] = since
        self.stats[i].miss_run_s = max(self.stats[i].miss_run_s, t - since + 1 / self.cfg.detector.sample_fps)

    def _check_spurious(self, t: float, dets: Sequence[Detection]) -> None:
        now: set[tuple[str, str]] = set()
        for d in dets:
            for _, rule in rule_of(self.cfg, d.cls):
                shop = shop_at(d.xyxy, self.zones, rule)
                if shop is None:
                    continue
                key = (d.cls, shop)
                sp = self.spurious[key]
                if key not in now:
                    sp.frames += 1
                now.add(key)
                if d.conf > sp.best_conf:
                    sp.best_conf, sp.example = d.conf, d.xyxy
                start = self._spur_since.setdefault(key, t)
                sp.longest_s = max(sp.longest_s, t - start + 1 / self.cfg.detector.sample_fps)
        for key in list(self._spur_since):
            if key not in now:
                del self._spur_since[key]

    def report(self) -> tuple[list[str], bool]:
        lines, ok = [], True
        grace = min(r.exit_grace_s for _, r in self.cfg.rules.items())
        debounce = min(r.entry_debounce_s for _, r in self.cfg.rules.items())
        for i in self.of_interest:
            a, st = self.sc.actors[i], self.stats[i]
            rate = st.still_hit / st.still if st.still else 1.0
            good = rate >= MIN_STILL_RATE and st.miss_run_s <= grace and st.still_class_ok >= MIN_STILL_RATE * st.still
            good = good and st.still_zone_ok >= MIN_STILL_RATE * st.still
            ok &= good
            lines.append(
                f"  {'ok ' if good else 'BAD'} {a.label} [{actor_class(self.cfg, a)}]: still {st.still_hit}/{st.still} "
                f"({rate:.0%}), right class {st.still_class_ok}, right frontage {st.still_zone_ok}; "
                f"hidden {st.hidden_hit}/{st.hidden}; moving {st.moving_hit}/{st.moving}; "
                f"longest miss {st.miss_run_s:.1f}s; seen as {dict(st.classes)}; boxed twice in {st.doubled}"
            )
        if not self.spurious:
            lines.append("  ok  no unexplained rule-class detection inside any frontage")
        for (cls, shop), sp in sorted(self.spurious.items()):
            bad = sp.longest_s > debounce
            ok &= not bad
            box = [round(v) for v in sp.example] if sp.example else None
            lines.append(
                f"  {'BAD' if bad else 'ok '} unexplained {cls} in {shop}: {sp.frames} frames, longest run "
                f"{sp.longest_s:.1f}s, best conf {sp.best_conf:.2f} at {box}"
            )
        return lines, ok


def verify(scenario: Scenario, video: Path, weights: str | None = None) -> tuple[list[str], bool]:
    from detector.yolo import YoloDetector
    from frontage.assets import default_weights

    cfg = parse_config(scenario.config, f"scenario {scenario.name}")
    detector = YoloDetector(cfg.detector, weights or default_weights(cfg.detector.weights))
    checker = Checker(scenario, cfg)
    for t, img in sampled_frames(video, cfg.detector.sample_fps):
        checker.add(t, detector.detect([img])[0])
    lines, ok = checker.report()
    return [f"== {scenario.name}: {checker.frames} sampled frames, {scenario.description}", *lines], ok


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m frontage.scenarios.verify", description=__doc__.split("\n")[0])
    p.add_argument("out_dir", help="folder the scenarios were rendered into")
    p.add_argument("names", nargs="*", help="scenario names (default: every rendered one)")
    p.add_argument("--weights", help="detector weights (default: config / FRONTAGE_WEIGHTS / shared model)")
    a = p.parse_args(argv)
    from frontage.scenarios.catalog import SCENARIOS

    out = Path(a.out_dir)
    names = a.names or [n for n in SCENARIOS if (out / f"{n}.mp4").is_file()]
    if not names:
        print(f"no rendered scenario in {out}", file=sys.stderr)
        return 2
    all_ok = True
    for name in names:
        lines, ok = verify(SCENARIOS[name], out / f"{name}.mp4", a.weights)
        print("\n".join(lines), flush=True)
        all_ok &= ok
    print("all checks passed" if all_ok else "SOME CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
