"""Bad configs fail at load with the file, the key path and the reason."""

from pathlib import Path

import pytest
import yaml

from frontage.config import ConfigError, load_config, parse_config

GOOD = {
    "cameras": [{"id": "cam1", "source": "street.mp4", "width": 1280, "height": 720}],
    "shops": [
        {
            "id": "shop-a",
            "name": "Noodle House",
            "responsible": {"name": "Li Wei", "contact": {"phone": "+86 10 0000 0000"}},
            "frontages": [{"camera_id": "cam1", "polygon": [[100, 400], [500, 400], [500, 700], [100, 700]]}],
        },
        {
            "id": "shop-b",
            "name": "Tea Shop",
            "responsible": {"kind": "merchant", "name": "Wang Fang"},
            "frontages": [{"camera_id": "cam1", "polygon": [[500, 400], [900, 400], [900, 700], [500, 700]]}],
        },
    ],
    "rules": {
        "illegal_parking": {"classes": ["car", "truck"], "dwell_s": 15},
        "out_of_store_trading": {"classes": ["chair", "umbrella"], "dwell_s": 60},
    },
}


def with_changes(path: str, value):
    """A copy of GOOD with one value replaced at a dotted path ('shops.0.frontages.0.polygon')."""
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[int(last) if last.isdigit() else last] = value
    return data


def problems(data, **kw):
    with pytest.raises(ConfigError) as err:
        parse_config(data, "cfg.yaml", **kw)
    return err.value.problems, str(err.value)


def test_good_config_loads_with_defaults():
    cfg = parse_config(GOOD)
    assert cfg.detector.weights == "yolov8n.pt"
    assert cfg.detector.sample_fps == 2
    assert cfg.rules.illegal_parking.exit_grace_s == 8
    assert cfg.shop("shop-b").responsible.kind == "merchant"


def test_every_field_has_a_description():
    from frontage import config as c

    for model in (c.DetectorConfig, c.Camera, c.Shop, c.Frontage, c.Rule, c.Presence, c.Config, c.TrackerConfig):
        missing = [name for name, f in model.model_fields.items() if not f.description]
        assert missing == [], f"{model.__name__}: {missing}"


def test_unknown_camera_in_frontage():
    found, text = problems(with_changes("shops.1.frontages.0.camera_id", "cam9"))
    assert found == [("shops[1].frontages[0].camera_id", "unknown camera 'cam9'; known: ['cam1']")]
    assert text.startswith("invalid config\n  cfg.yaml: shops[1].frontages[0].camera_id: unknown camera")


def test_self_intersecting_polygon_explains_where():
    bowtie = [[100, 400], [500, 700], [500, 400], [100, 700]]
    found, _ = problems(with_changes("shops.0.frontages.0.polygon", bowtie))
    (path, reason), *_ = found
    assert path == "shops[0].frontages[0].polygon"
    assert reason.startswith("invalid polygon: Self-intersection[300 550]")


@pytest.mark.parametrize(
    "poly, why",
    [
        ([[100, 400], [500, 400]], "at least 3 points"),
        ([[100, 400], [300, 400], [500, 400]], "invalid polygon"),  # collinear: shapely says too few points
        ([[100, 400], [100.5, 400], [100.5, 400.5]], "degenerate polygon"),
    ],
)
def test_degenerate_polygons(poly, why):
    found, _ = problems(with_changes("shops.0.frontages.0.polygon", poly))
    assert found[0][0] == "shops[0].frontages[0].polygon" and why in found[0][1]


def test_polygon_outside_the_frame():
    found, _ = problems(with_changes("shops.0.frontages.0.polygon", [[100, 400], [500, 400], [500, 760], [100, 700]]))
    assert found == [
        ("shops[0].frontages[0].polygon", "points [(500.0, 760.0)] lie outside camera 'cam1''s 1280x720 frame")
    ]


def test_overlapping_frontages_of_two_shops_are_refused():
    found, _ = problems(with_changes("shops.1.frontages.0.polygon", [[400, 400], [900, 400], [900, 700], [400, 700]]))
    assert found[0][0] == "shops[1].frontages[0].polygon"
    assert "overlaps shops[0].frontages[0] (shop 'shop-a') by 30000 px²" in found[0][1]


def test_overlapping_frontages_allowed_explicitly():
    data = with_changes("shops.1.frontages.0.polygon", [[400, 400], [900, 400], [900, 700], [400, 700]])
    data["shops"][1]["frontages"][0]["allow_overlap"] = True
    assert parse_config(data).shop("shop-b")


def test_unknown_class_names():
    found, _ = problems(with_changes("rules.illegal_parking.classes", ["car", "tuk-tuk"]))
    assert found == [("rules.illegal_parking.classes[1]", "unknown class 'tuk-tuk' (not produced by the model)")]


def test_class_names_are_checked_against_the_models_names():
    found, _ = problems(GOOD, model_names=["car", "truck", "chair"])
    assert found == [("rules.out_of_store_trading.classes[1]", "unknown class 'umbrella' (not produced by the model)")]


def test_class_map_renames_model_classes():
    data = with_changes("rules.illegal_parking.classes", ["car", "vehicle"])
    data["detector"] = {"class_map": {"truck": "vehicle", "bus": "vehicle"}}
    assert parse_config(data).detector.class_map["bus"] == "vehicle"
    data["detector"] = {"class_map": {"hovercraft": "vehicle"}}
    found, _ = problems(data)
    assert ("detector.class_map.hovercraft", "'hovercraft' is not a class of the model") in found


@pytest.mark.parametrize("key", ["dwell_s", "exit_grace_s", "entry_debounce_s"])
def test_negative_times(key):
    found, _ = problems(with_changes(f"rules.illegal_parking.{key}", -5))
    assert found == [(f"rules.illegal_parking.{key}", "Input should be greater than or equal to 0")]


def test_bad_active_hours_and_timezone():
    data = with_changes("rules.illegal_parking.active_hours", [{"start": "7:00", "end": "25:00"}])
    data["timezone"] = "Mars/Olympus"
    found, _ = problems(data)
    paths = {p for p, _ in found}
    assert paths == {
        "timezone",
        "rules.illegal_parking.active_hours[0].start",
        "rules.illegal_parking.active_hours[0].end",
    }


def test_unknown_keys_are_errors_not_ignored():
    found, _ = problems(with_changes("rules.illegal_parking.dwel_s", 10))
    assert found == [("rules.illegal_parking.dwel_s", "Extra inputs are not permitted")]


def test_duplicate_ids():
    data = with_changes("shops.1.id", "shop-a")
    found, _ = problems(data)
    assert found == [("", "duplicate shops id(s): shop-a")]


def test_load_config_names_the_file_and_yaml_position(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cameras:\n  - id: cam1\n    source: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert str(bad) in str(err.value) and "line 4" in str(err.value)
    with pytest.raises(ConfigError, match="cannot read file"):
        load_config(tmp_path / "missing.yaml")
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(top)


def test_relative_sources_resolve_against_the_config_folder(tmp_path: Path):
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(GOOD))
    cfg = load_config(f)
    assert cfg.cameras[0].source == str(tmp_path / "street.mp4")


def test_bundled_configs_are_valid():
    root = Path(__file__).resolve().parents[2] / "configs"
    files = sorted(root.glob("*.yaml"))
    assert files, "configs/ must hold at least the demo config"
    for f in files:
        load_config(f)


def test_reminder_channels_are_checked():
    found, _ = problems(with_changes("dispatch", {"reminder_channels": ["log", "sms"]}))
    assert found[0][0] == "dispatch.reminder_channels[1]"
    found, _ = problems(with_changes("dispatch", {"reminder_channels": ["webhook"]}))
    assert found == [("dispatch", "the webhook channel needs webhook_secret: unsigned reminders could be forged")]
