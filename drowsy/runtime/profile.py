"""Driver profiles: what `drowsy calibrate` measured, the settings it derives, and how `drowsy run
--profile` reads and applies them.

A profile is a small TOML file:
- [apply]: closed_threshold, hysteresis, yaw_centre_deg, pitch_centre_deg — the only values a
  run takes from it (the temporal stage's threshold and the pose gate's centre);
- [model]: sha256 of the eye model the scores came from; a run with another model refuses the
  profile, because thresholds do not carry over between models;
- [profile] (format, name, created, basis, note) and [measured] (counts, quantiles, spreads):
  what it rests on, for people to read; a run checks only their presence and types;
- [fusion] (optional; profiles before issue 21 have none): ear_open, ear_closed, weight — the
  driver's lid geometry (fusion.Geometry), blended into the fused score when weight > 0;
- [spread] (optional; profiles before issue 19 have none): yaw_deg, pitch_deg, iris_side — how far
  head and iris wander while the driver looks at the road (zone.Spread); a run narrows its on-road
  zone to them (the temporal settings *_spread, zone.on_road_zone).

The threshold rule (derive) lies between the person's open-eye and closed-eye fused scores and is
pulled back towards the model's own threshold when few closures were seen; it never calls the
person's measured open eyes closed, and with no closure seen it may only rise (see derive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from ..errors import DrowsyError
from .fusion import Geometry
from .zone import Spread
from ..settings_io import brief, read_toml, toml_value as _toml  # the run settings' TOML values: same quoting

FORMAT = 1
BASES = ("open_and_closed", "open_only")
# The rule's constants, fixed from first principles before any evaluation (docs/calibrate.md);
# the rule that ships is picked among capped/midpoint × fixed/half × the fusion rules of
# calibrate_geometry.py (evaluation/calibration.py; docs/calibrate.md).
OPEN_Q = 0.99  # the open eyes' high end: their 99th percentile
MARGIN = 0.10  # the threshold stays this far above the open eyes' high end
FLOOR = 0.20  # and never below this: scores drift with light and glasses the calibration did not see
FULL_EVIDENCE = 3  # closures seen for the personal midpoint to count in full
MAX_CENTRE_DEG = {"yaw_centre_deg": 20.0, "pitch_centre_deg": 20.0}  # a rest pose beyond = camera misplaced
HYSTERESIS_RULES = ("fixed", "half")  # see derive
THRESHOLD_RULES = ("capped", "midpoint")  # see derive
# What drowsy calibrate uses: the profile rule scripts/calibration_eval.py picks on the 8 ZJU people
# (docs/calibrate.md). At the model's video operating point (0.4) every capped rule ties "no profile" there,
# and the tie goes to the rule that changes least: the model's threshold and hysteresis, kept
# unless this person's open eyes reach them.
THRESHOLD_RULE = "capped"
HYSTERESIS_RULE = "fixed"
APPLY_KEYS = ("closed_threshold", "hysteresis", "yaw_centre_deg", "pitch_centre_deg")
# [spread] key → the temporal setting it sets, and its bounds on load.
SPREAD_KEYS = {"yaw_deg": ("yaw_spread_deg", 90.0), "pitch_deg": ("pitch_spread_deg", 90.0),
               "iris_side": ("iris_side_spread", 1.0)}


@dataclass(frozen=True)
class Profile:
    name: str
    closed_threshold: float
    hysteresis: float
    yaw_centre_deg: float
    pitch_centre_deg: float
    model_sha256: str
    basis: str  # "open_and_closed", or "open_only" when no closure was seen
    note: str = ""
    created: str = ""
    measured: Mapping[str, object] = field(default_factory=dict)
    model_threshold: float | None = None
    geometry: Geometry | None = None  # [fusion]: None in profiles made before issue 21
    spread: Spread | None = None  # [spread]: None in profiles made before issue 19

    def describe(self) -> str:
        """One line: what a run takes from this profile."""
        from ..secrets import escape  # a name with ANSI escapes or newlines is shown, not obeyed

        geo = self.geometry
        fusion = (f", lid geometry weight {geo.weight:g} (eye aspect ratio open {geo.ear_open:.3f}, "
                  f"closed {geo.ear_closed:.3f})" if geo is not None and geo.weight else "")
        sp = self.spread
        spread = ("" if sp is None else f", spread on the road yaw {sp.yaw_deg:.1f}° pitch {sp.pitch_deg:.1f}° "
                  f"iris {sp.iris_side:.2f}")
        return (f"profile {escape(self.name)}: closed threshold {self.closed_threshold:g}, "
                f"hysteresis {self.hysteresis:g}, rest pose yaw {self.yaw_centre_deg:+.1f}° "
                f"pitch {self.pitch_centre_deg:+.1f}°{spread}{fusion} ({self.basis})")


def derive(open_q: float, closed_median: float | None, closures: int, model_threshold: float,
           hysteresis: float, rule: str = HYSTERESIS_RULE, threshold_rule: str = THRESHOLD_RULE
           ) -> tuple[float, float, str]:
    """(threshold, hysteresis, note) for one person.

    open_q: OPEN_Q quantile of their open-eye fused scores; closed_median: median fused score of
    their closed frames (None: no closure seen); closures: how many separate closures.
    - With closures: the midpoint between open_q and closed_median, weighted by the evidence
      w = min(1, closures / FULL_EVIDENCE) against the model's threshold g: g + w (mid - g).
    - Without: g, raised only if the open eyes reach it (a threshold that no data supports
      lowering is never lowered).
    Either way the threshold is at least max(open_q + MARGIN, FLOOR); `threshold_rule` "capped":
    and at most max(g, open_q + MARGIN) (it never exceeds the model's unless this person's open
    eyes force it); "midpoint": no cap (the weighted midpoint may also lie above the model's).
    Hysteresis (the reopening level is threshold - hysteresis), by `rule`:
    - "fixed": the run's hysteresis, cut so the reopening level stays above open_q + MARGIN / 2
      (a closure always ends when the eyes open again);
    - "half": reopening half-way between open_q and the threshold, so a lid that dips during one
      blink does not split it in two when the threshold is low.
    """
    g, lo = model_threshold, max(open_q + MARGIN, FLOOR)
    if lo >= 0.95:
        raise DrowsyError(f"open eyes already score like closed ones (99th percentile {open_q:.2f}): "
                          "this eye model cannot calibrate for this face")
    if closed_median is None or closures < 1:
        thr = max(g, lo)
        note = (f"no closure seen: threshold kept at the model's {g:.3f}" if thr == g else
                f"no closure seen: threshold raised above the open eyes' 99th percentile ({open_q:.3f})")
    else:
        w = min(1.0, closures / FULL_EVIDENCE)
        mid = (open_q + closed_median) / 2
        thr = g + w * (mid - g)
        note = (f"midpoint {mid:.3f} of open (q99 {open_q:.3f}) and closed (median {closed_median:.3f}) "
                f"scores, weight {w:.2f} from {closures} closure(s) against the model's {g:.3f}")
    if rule not in HYSTERESIS_RULES or threshold_rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown rule {threshold_rule!r}/{rule!r}")
    thr = max(thr, lo) if threshold_rule == "midpoint" else min(max(thr, lo), max(g, lo))
    half = rule == "half" and closed_median is not None  # without a closure, nothing to re-fit
    hyst = (thr - open_q) / 2 if half else min(hysteresis, thr - (open_q + MARGIN / 2))
    hyst = max(0.0, hyst)
    return round(thr, 4), round(hyst, 4), note


def applied(profile: Profile) -> dict:
    """{temporal setting: value} that a run takes from this profile."""
    sp = profile.spread
    return {**{k: getattr(profile, k) for k in APPLY_KEYS},
            **({} if sp is None else {s: getattr(sp, k) for k, (s, _) in SPREAD_KEYS.items()})}


def apply(temporal, profile: Profile):
    """The temporal settings with the profile's threshold, hysteresis, pose centre and spreads."""
    return replace(temporal, **applied(profile))


# -- TOML ---------------------------------------------------------------------------------------

def to_toml(p: Profile) -> str:
    sections = {
        "profile": {"format": FORMAT, "name": p.name, "created": p.created, "basis": p.basis, "note": p.note},
        "apply": {k: float(getattr(p, k)) for k in APPLY_KEYS},
        "model": {"sha256": p.model_sha256, **({} if p.model_threshold is None else {"threshold": p.model_threshold})},
        "measured": dict(p.measured),
    }
    if p.geometry is not None:
        sections["fusion"] = {k: float(getattr(p.geometry, k)) for k in ("ear_open", "ear_closed", "weight")}
    if p.spread is not None:
        sections["spread"] = {k: float(getattr(p.spread, k)) for k in SPREAD_KEYS}
    lines = ["# drowsy driver profile: written by `drowsy calibrate`, used by `drowsy run --profile`"]
    for sec, values in sections.items():
        lines += ["", f"[{sec}]"] + [f"{k} = {_toml(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def write(p: Profile, path: str | Path) -> None:
    """Write atomically (outputs.write_text: a temp file beside `path`, then a rename)."""
    from ..outputs import write_text

    write_text(path, to_toml(p), label="profile")


def _number(doc: dict, sec: str, key: str, lo: float, hi: float) -> float:
    v = doc.get(sec, {}).get(key)
    if v is None:
        raise ValueError(f"[{sec}] {key} is missing")
    # An integer of 400 digits is a valid TOML integer, but math.isfinite and float() overflow on it.
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        raise ValueError(f"[{sec}] {key} must be a finite number, got {brief(v)}")
    if not lo <= v <= hi:
        raise ValueError(f"[{sec}] {key} must be between {lo:g} and {hi:g}, got {brief(v)}")
    return float(v)


def _parse(doc: dict) -> Profile:
    for sec in ("profile", "apply", "model", "measured"):
        if not isinstance(doc.get(sec), dict):
            raise ValueError(f"section [{sec}] is missing")
    meta, model = doc["profile"], doc["model"]
    if meta.get("format") != FORMAT:
        raise ValueError(f"[profile] format must be {FORMAT}, got {brief(meta.get('format'))}")
    unknown = sorted(set(doc["apply"]) - set(APPLY_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) in [apply]: {', '.join(unknown)}")
    thr = _number(doc, "apply", "closed_threshold", 0.0, 1.0)
    if not 0.0 < thr < 1.0:
        raise ValueError(f"[apply] closed_threshold must be between 0 and 1 (exclusive), got {thr!r}")
    hyst = _number(doc, "apply", "hysteresis", 0.0, thr)
    if hyst >= thr:  # the eyes would reopen only below 0: one blink becomes an endless closure
        raise ValueError(f"[apply] hysteresis must be below closed_threshold ({thr:g}), got {hyst:g}")
    centre = {k: _number(doc, "apply", k, -lim, lim) for k, lim in MAX_CENTRE_DEG.items()}
    sha = model.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError(f"[model] sha256 must be 64 lowercase hex digits, got {brief(sha)}")
    for key in ("name", "basis"):
        if not isinstance(meta.get(key), str):
            raise ValueError(f"[profile] {key} must be a string, got {brief(meta.get(key))}")
    if meta["basis"] not in BASES:
        raise ValueError(f"[profile] basis must be one of {', '.join(BASES)}, got {brief(meta['basis'])}")
    g = model.get("threshold")
    g = g if isinstance(g, (int, float)) and not isinstance(g, bool) and 0 <= g <= 1 else None  # for people only
    geo = None
    if "fusion" in doc:  # optional: older profiles have none and run on the CNN alone
        if not isinstance(doc["fusion"], dict):
            raise ValueError("[fusion] must be a section")
        ear_open = _number(doc, "fusion", "ear_open", 1e-3, 2.0)
        geo = Geometry(ear_open=ear_open, ear_closed=_number(doc, "fusion", "ear_closed", 0.0, ear_open - 1e-3),
                       weight=_number(doc, "fusion", "weight", 0.0, 1.0))
    return Profile(name=meta["name"], closed_threshold=thr, hysteresis=hyst, **centre, model_sha256=sha,
                   basis=meta["basis"], note=str(meta.get("note", "")), created=str(meta.get("created", "")),
                   measured=dict(doc["measured"]),
                   model_threshold=None if g is None else float(g), geometry=geo, spread=_spread(doc))


def _spread(doc: dict) -> Spread | None:
    """[spread], optional (profiles before issue 19 have none): every key, each in its bounds."""
    if "spread" not in doc:
        return None
    if not isinstance(doc["spread"], dict):
        raise ValueError("[spread] must be a section")
    unknown = sorted(set(doc["spread"]) - set(SPREAD_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) in [spread]: {', '.join(unknown)}")
    return Spread(**{k: _number(doc, "spread", k, 0.0, hi) for k, (_, hi) in SPREAD_KEYS.items()})


def load(path: str | Path, model_sha256: str | None = None) -> Profile:
    """Read and check a profile; every problem is one DrowsyError line naming the file.

    model_sha256: the eye model the run will use; a profile made with another one is refused.
    """
    path = Path(path)
    doc = read_toml(path, "profile")
    try:
        p = _parse(doc)
    except ValueError as e:
        raise DrowsyError(f"profile {path}: {e}") from None
    if model_sha256 is not None and p.model_sha256 != model_sha256:
        raise DrowsyError(f"profile {path} was made with another eye model (sha256 {p.model_sha256[:12]}…, "
                          f"this one is {model_sha256[:12]}…): run drowsy calibrate again with this model")
    return p


def for_run(cfg):
    """(cfg with its [profile] applied, the Profile) — or (cfg, None) without one.

    Checked before any output opens: a bad profile, one made with another eye model, or a setting
    given both ways (--closed-threshold and a profile) stops the run with one line.
    """
    from ..errors import UsageError
    from ..paths import default_eye_model, sha256_of
    from ..settings import default_of
    from ..settings_io import flag_of

    path = cfg.profile.profile
    if not path:
        return cfg, None
    for k in (*APPLY_KEYS, *(s for s, _ in SPREAD_KEYS.values())):
        if getattr(cfg.temporal, k) != default_of(k):
            raise UsageError(f"{flag_of(k)} and the profile {path} both set {k}: give one of them")
    model = Path(cfg.model.model) if cfg.model.model else default_eye_model()
    p = load(path, sha256_of(model) if model.is_file() else None)  # a missing model fails when loaded
    return replace(cfg, temporal=apply(cfg.temporal, p)), p
