"""Every setting of drowsy in one place: the dataclasses, their defaults, valid ranges and help.

`drowsy run`'s flags, the TOML file's keys and the help text are all generated from the field
metadata below (settings_io.py), so a default is written once, here. Also here: the constants
that several sides share (devices, the jitter range, the crop contract), so training, export,
evaluation and the runtime cannot drift apart.

Defaults of the thresholds and where they come from (none fitted to our data unless marked;
scripts/docs_reference.py puts each row into the settings reference):

| setting           | default | source / reason                                                     |
|-------------------|---------|---------------------------------------------------------------------|
| window_s          | 60 s    | PERCLOS over one minute, P80 (lids at least 80 % shut): Wierwille   |
|                   |         | et al. 1994 (NHTSA DOT HS 808 247); Dinges & Grace 1998             |
|                   |         | (FHWA-MCRT-98-006). Our 'closed' is the eye model's label (lids     |
|                   |         | cover most of the iris): close to P80, not a measured aperture.     |
| perclos_alert     | 0.15    | convention: a level often used by camera-based PERCLOS monitors     |
|                   |         | over a one-minute window; not validated on our data.                |
| perclos_clear     | 0.10    | our choice: hysteresis below perclos_alert, so no flicker.          |
| min_assessable_s  | 30 s    | our choice: half a window of evidence before any PERCLOS.           |
| microsleep_s      | 1.5 s   | the project's issue; definitions vary (often 0.5-15 s).             |
| (blinks)          | < 1.5 s | normal blinks last about 100-400 ms (Stern, Walrath & Goldstein     |
|                   |         | 1984, Psychophysiology 21:22; Schiffman 2001, Sensation and         |
|                   |         | Perception): any shorter closure is reported as a blink.            |
| closed_threshold  | model's | the eye model's own threshold (its ONNX metadata).                  |
| hysteresis        | model's | open again only this far below the threshold: the eye model's own   |
|                   |         | (metadata, chosen on video with the threshold), else 0.1.           |
| min_alert_s       | 2 s     | our choice: long enough to notice, short enough to stop soon.       |
| cooldown_s        | 10 s    | our choice: no new PERCLOS alert within 10 s of the last one.       |
| not_visible_s     | 3 s     | our choice: longer than a glance at a mirror.                       |
| max_gap_s         | 0.5 s   | our choice: a frame stands for at most 0.5 s (cameras >= 2 FPS).    |
| max_yaw_deg       | 35      | our choice: beyond it the eye crops are too foreshortened.          |
| max_pitch_down_deg| 25      | our choice: looking down lowers the lids and hides the eyes.        |
| max_pitch_up_deg  | 40      | looking up does not lower the lids: on the ZJU "upward" clips the   |
|                   |         | landmarker's pitch is +10 to +31 deg and blinks are plainly visible |
|                   |         | (scripts/choose_operating_point.py, docs/accuracy.md).              |
| min_brightness    | 20      | our choice: mean gray (0-255) of the eye crops below it = too dark. |
| yaw_centre_deg    | 0       | the rest pose: facing the camera, unless a driver profile says      |
|                   |         | otherwise (drowsy calibrate measures it).                           |
| pitch_centre_deg  | 0       | the rest pose, as yaw_centre_deg: 0 unless a driver profile says.  |
| track_max_motion  | 0.5     | our choice: flow moves landmarks rigidly; a head turn is not that.  |
| (driver state: docs/driver-state.md; Euro NCAP Safe Driving, driver monitoring, 2023)|
| sleep_s           | 3 s     | Euro NCAP: eyes closed >= 3 s = sleep.                              |
| unresponsive_s    | 6 s     | Euro NCAP: eyes closed, or gaze off road, >= 6 s.                   |
| no_return_s       | 3 s     | Euro NCAP: no return to the road within 3 s of a warning.           |
| long_distraction_s| 3 s     | Euro NCAP: long distraction, one glance away >= 3 s.                |
| vats_s            | 10 s    | Euro NCAP: VATS, >= 10 s off road within 30 s.                      |
| vats_window_s     | 30 s    | Euro NCAP: the 30 s over which VATS counts.                         |
| vats_reset_s      | 2 s     | Euro NCAP: VATS resets after >= 2 s continuously on road.           |
| drop_within_s     | 1 s     | our choice: "within about a second" of the closure (issue 19).      |
| drop_min_closure_s| 0.4 s   | the longest normal blink, 100-400 ms (Stern et al. 1984).           |
| head_drop_dps     | 60 deg/s| our choice: a nod, faster than a deliberate look down.              |
| unseen_max_s      | 30 s    | our choice: then the attention logic takes over.                    |
| look_down_min     | 0.5     | our choice: above every labelled open frame's p99 but the           |
|                   |         | looking-up clips' (0.54), which the iris rule excludes.             |
| iris_down_min     | 0.08    | our choice: above every labelled frame's maximum (0.05).            |
| iris_side_min     | 0.25    | our choice: above every labelled frame's maximum (0.20).            |
| on_road_min_s     | 0.5 s   | our choice: longer than a pose read at a limit's edge (0.1-0.3 s    |
|                   |         | on the synthetic glances); a real look back at the road is longer.  |
| yaw_spread_deg    | none    | a driver profile (drowsy calibrate): the driver's spread on the     |
|                   |         | road; unset = no calibrated zone, the limits above.                 |
| pitch_spread_deg  | none    | as yaw_spread_deg.                                                  |
| iris_side_spread  | none    | as yaw_spread_deg.                                                  |
| zone_k            | 3       | our choice: a still seat's 15 s covers less head motion than a      |
|                   |         | drive: three times its 95 % range (runtime/zone.py).                |
| zone_min_yaw_deg  | 15      | our choice: normal head motion of a driver looking at the road      |
|                   |         | stays within.                                                       |
| zone_min_pitch_deg| 10      | our choice: as zone_min_yaw_deg.                                    |
| zone_min_iris_side| 0.15    | our choice: above every labelled open frame's 99th percentile,      |
|                   |         | 0.10 (scripts/gaze_stats.py).                                       |
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

# Where the eye model may run; classify.provider_list maps each to ONNX Runtime providers.
DEVICES = ("auto", "cpu", "cuda", "tensorrt")
# The crop contract's defaults: side in pixels and crop side / eye-corner distance. A model
# carries its own in its metadata; these are what training and export start from.
CROP_SIZE = 24
CROP_SCALE = 1.65  # best frame AUC over clean+degraded clips (scripts/measure_crop_scale.py)
MAX_JITTER = 16  # jittered crops per eye that crop.JITTERS defines (a test keeps them equal)
# What --url accepts: network streams that end only when closed. A file:// URL (or a path) is a
# file and goes to --video, where it ends; FFmpeg would otherwise read a FIFO or device forever.
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt", "rtp", "mms", "mmsh")
# The threshold of a model whose metadata names none (a sigmoid's natural middle).
FALLBACK_THRESHOLD = 0.5
# The hysteresis of a model whose metadata names none.
DEFAULT_HYSTERESIS = 0.1
# Upper bounds of the times: far beyond any sensible value, and they keep the memory a window
# holds bounded (a 1e300 s window would keep every frame of the run).
HOUR, DAY = 3600.0, 86400.0


def setting(default, help: str, flag: str | None = None, metavar: str | None = None,
            limits: tuple | None = None, choices: tuple | None = None, unset: str | None = None,
            secret: str | None = None):
    """A dataclass field with what flags, TOML and validation need.

    flag: the command-line flag (default: --field-name with dashes); metavar None = an on/off
    switch for bools; limits: (low, high, low_open, high_open); unset: what None means;
    secret: "value" (never printed) or "url" (printed with its password masked).
    """
    meta = {"help": help, "flag": flag, "metavar": metavar, "limits": limits, "choices": choices,
            "unset": unset, "secret": secret}
    return field(default=default, metadata=meta)


def _num(default: float, help: str, flag: str | None = None, metavar: str = "S", hi: float = HOUR):
    return setting(default, help, flag=flag, metavar=metavar, limits=(0.0, hi, True, False))


@dataclass(frozen=True)
class SourceConfig:
    camera: int = setting(0, "camera index", metavar="N", limits=(0, 1023, False, False))
    video: str | None = setting(None, "a video file", metavar="PATH")
    url: str | None = setting(None, "a stream, e.g. rtsp://...", metavar="URL")
    realtime: bool = setting(False, "pace a video file at its own frame rate")
    reconnect_max_s: float = setting(30.0, "longest wait between reconnection attempts of a live source",
                                     flag="--reconnect-max", metavar="S", limits=(0.0, 3600.0, True, False))


@dataclass(frozen=True)
class ModelConfig:
    model: str | None = setting(None, "eye model .onnx", metavar="PATH", unset="the bundled eye model")
    landmarker: str | None = setting(None, "face landmarker .task file", metavar="PATH",
                                     unset="$DROWSY_LANDMARKER, else the user cache")
    device: str = setting("auto", "where the eye model runs", choices=DEVICES)
    jitter: int = setting(8, "jittered crops per eye", metavar="J", limits=(0, MAX_JITTER, False, False))
    # One thread: one frame's ~18 crops run faster on one core than split over two (drowsy bench:
    # 0.28 vs 0.49 ms on a 2-core EPYC), and the landmarker keeps the other core.
    threads: int = setting(1, "onnxruntime threads for the eye model, 0 = all cores", metavar="N",
                           limits=(0, 256, False, False))
    # One face is tracked (MediaPipe's detector runs only when the track is lost); with more, a
    # full detection once a second makes the largest face the tracked one (landmarks.py; its
    # cost: drowsy bench --faces 2, docs/speed.md).
    faces: int = setting(1, "faces looked for once a second, the largest tracked as the driver's "
                         "(1: the first face found is tracked)", metavar="N", limits=(1, 8, False, False))
    parallel: bool = setting(True, "decode, landmarks and the rest overlap in threads "
                             "(--no-parallel: one after another, for debugging)")
    # The landmarker is ~85 % of a frame's time on 2 cores (docs/speed.md). Flow (runtime/track.py)
    # moves landmarks rigidly in the image plane, which a head turn is not: track_max_motion, our choice.
    landmarks_every: str = setting("1", "landmarks on one frame in N (1-30), eye stage on every frame (landmarks moved "
                                   "by optical flow); auto: landmarks on their own thread", metavar="N|auto")
    track_max_motion: float = setting(0.5, "with --landmarks-every N: landmarks early once the eyes moved W eye "
                                      "widths since the last ones", metavar="W", limits=(0.0, 10.0, True, False))


@dataclass(frozen=True)
class TemporalConfig:
    window_s: float = setting(60.0, "PERCLOS window in seconds", flag="--window", metavar="S",
                              limits=(0.0, HOUR, True, False))
    perclos_alert: float = setting(0.15, "PERCLOS alert at or above", metavar="P", limits=(0.0, 1.0, False, False))
    perclos_clear: float = setting(0.10, "PERCLOS alert clears below", metavar="P", limits=(0.0, 1.0, False, False))
    min_assessable_s: float = setting(30.0, "assessable seconds in the window before PERCLOS counts "
                                      "(half a shorter window)", flag="--min-assessable", metavar="S",
                                      limits=(0.0, HOUR, False, False))
    microsleep_s: float = setting(1.5, "eyes closed this long raise an alert at once", flag="--microsleep",
                                  metavar="S", limits=(0.0, HOUR, True, False))
    closed_threshold: float | None = setting(None, "closed when p_closed >= P", metavar="P",
                                             limits=(0.0, 1.0, False, False), unset="the eye model's threshold")
    hysteresis: float | None = setting(None, "open again only below threshold - P", metavar="P",
                                       limits=(0.0, 1.0, False, False),
                                       unset=f"the eye model's, else {DEFAULT_HYSTERESIS:g}")
    min_alert_s: float = setting(2.0, "an alert stays on at least this long", flag="--min-alert", metavar="S",
                                 limits=(0.0, HOUR, False, False))
    cooldown_s: float = setting(10.0, "no new PERCLOS alert this long after one clears", flag="--cooldown",
                                metavar="S", limits=(0.0, DAY, False, False))
    not_visible_s: float = setting(3.0, "unassessable this long = driver not visible", flag="--not-visible",
                                   metavar="S", limits=(0.0, HOUR, False, False))
    max_gap_s: float = setting(0.5, "a frame stands for at most this long", flag="--max-gap", metavar="S",
                               limits=(0.0, 60.0, True, False))
    max_yaw_deg: float = setting(35.0, "head turned further = not assessable", flag="--max-yaw", metavar="DEG",
                                 limits=(0.0, 180.0, True, False))
    # Signed pitch limits (pitch > 0 = nose up): looking down lowers the lids and hides the eyes,
    # looking up does not, so up is let through further.
    max_pitch_down_deg: float = setting(25.0, "head tilted further down = not assessable", flag="--max-pitch-down",
                                        metavar="DEG", limits=(0.0, 90.0, True, False))
    max_pitch_up_deg: float = setting(40.0, "head tilted further up = not assessable", flag="--max-pitch-up",
                                      metavar="DEG", limits=(0.0, 90.0, True, False))
    min_brightness: float = setting(20.0, "darker eye crops (mean gray) = not assessable", metavar="GRAY",
                                    limits=(0.0, 255.0, False, False))
    # The driver's rest pose (a profile sets it): --max-yaw and the pitch limits count from here, not from
    # facing the camera, so a camera mounted off-axis does not make a driver at rest unassessable.
    yaw_centre_deg: float = setting(0.0, "head yaw at rest; the yaw limit counts from it", flag="--yaw-centre",
                                    metavar="DEG", limits=(-90.0, 90.0, False, False))
    pitch_centre_deg: float = setting(0.0, "head pitch at rest; the pitch limit counts from it",
                                      flag="--pitch-centre", metavar="DEG", limits=(-90.0, 90.0, False, False))
    # The driver state (docs/driver-state.md; sources in the module docstring).
    sleep_s: float = _num(3.0, "eyes closed this long = sleep (critical)", "--sleep")
    unresponsive_s: float = _num(6.0, "eyes closed or off the road this long = unresponsive", "--unresponsive")
    no_return_s: float = _num(3.0, "not back on the road this long after a warning = unresponsive", "--no-return")
    long_distraction_s: float = _num(3.0, "one glance off the road this long = distraction", "--long-distraction")
    vats_s: float = _num(10.0, "off the road this long within --vats-window = distraction", "--vats")
    vats_window_s: float = _num(30.0, "the window --vats counts over", "--vats-window")
    vats_reset_s: float = _num(2.0, "on the road this long resets the --vats count", "--vats-reset")
    drop_within_s: float = _num(1.0, "a head drop this soon after a closed frame continues it", "--drop-within")
    drop_min_closure_s: float = _num(0.4, "a closure this long continues through a head drop", "--drop-min-closure")
    head_drop_dps: float = _num(60.0, "head pitching down this fast = head drop", "--head-drop-rate", "DEG/S", 1e4)
    unseen_max_s: float = _num(30.0, "longest a closure continues unseen", "--unseen-max")
    look_down_min: float = _num(0.5, "eyeLookDown from this, with the iris low = looking down", None, "X", 1.0)
    iris_down_min: float = _num(0.08, "iris this far below the eye corners (eye widths) = looking down", None, "X", 1.0)
    iris_side_min: float = _num(0.25, "iris this far sideways (eye widths) = eyes off the road", None, "X", 1.0)
    on_road_min_s: float = _num(0.5, "back on the road this long ends a glance away", "--on-road-min")
    # A calibrated driver's on-road zone (runtime/zone.py, docs/driver-state.md): a profile sets the spreads
    # (drowsy calibrate, open eyes looking at the road); the run narrows the limits above to zone_k spreads,
    # never below the floors, never beyond the limits. Unset (no profile): the limits above, as before.
    yaw_spread_deg: float | None = setting(None, "the driver's head yaw spread on the road (a profile sets it)",
                                           flag="--yaw-spread", metavar="DEG", limits=(0.0, 90.0, False, False),
                                           unset="no calibrated zone: --max-yaw")
    pitch_spread_deg: float | None = setting(None, "the driver's head pitch spread on the road (a profile sets it)",
                                             flag="--pitch-spread", metavar="DEG", limits=(0.0, 90.0, False, False),
                                             unset="no calibrated zone: --max-pitch-down")
    iris_side_spread: float | None = setting(None, "the driver's sideways iris spread on the road, eye widths "
                                             "(a profile sets it)", flag="--iris-side-spread", metavar="X",
                                             limits=(0.0, 1.0, False, False),
                                             unset="no calibrated zone: --iris-side-min")
    zone_k: float = _num(3.0, "a calibrated driver is off the road beyond this many spreads", "--zone-k", "K", 100.0)
    zone_min_yaw_deg: float = _num(15.0, "a calibrated yaw zone is never narrower than this", "--zone-min-yaw",
                                   "DEG", 180.0)
    zone_min_pitch_deg: float = _num(10.0, "a calibrated pitch-down zone is never narrower than this",
                                     "--zone-min-pitch", "DEG", 90.0)
    zone_min_iris_side: float = _num(0.15, "a calibrated iris zone is never narrower than this (eye widths)",
                                     "--zone-min-iris-side", "X", 1.0)


@dataclass(frozen=True)
class OutputConfig:
    headless: bool = setting(False, "no window")
    out: str | None = setting(None, "one JSON line per frame", metavar="FILE", unset="no frame log")
    events: str | None = setting(None, "one JSON line per event", metavar="FILE", unset="no event log")
    alarm: bool = setting(True, "sound an alarm on alerts (--no-alarm to switch off)")
    mediapipe_logs: bool = setting(False, "show MediaPipe's own log output")


@dataclass(frozen=True)
class ServeConfig:
    """The live web view (runtime/serve.py, the [serve] extra)."""

    address: str | None = setting(None, "live web view on HOST:PORT (a token guards any address beyond "
                                  "loopback)", flag="--serve", metavar="HOST:PORT", unset="no web view")
    token: str | None = setting(None, "the token the web view asks for", flag="--serve-token", metavar="TOKEN",
                                unset="none on loopback, else one generated and printed once", secret="value")
    video_fps: float = setting(10.0, "most video frames a second the web view sends", flag="--serve-fps",
                               metavar="FPS", limits=(0.0, 60.0, True, False))


@dataclass(frozen=True)
class MqttConfig:
    """Fleet events over MQTT (runtime/mqtt.py, the [mqtt] extra)."""

    broker: str | None = setting(None, "publish events and status to mqtt[s]://[user:pass@]HOST[:PORT]/PREFIX",
                                 flag="--mqtt", metavar="URL", unset="no MQTT", secret="url")
    ca_file: str | None = setting(None, "CA certificate(s) that sign an mqtts:// broker's", flag="--mqtt-ca",
                                  metavar="FILE", unset="the system's CAs")
    device_id: str | None = setting(None, "this box's name in every MQTT message", metavar="ID",
                                    unset="the host name")
    queue_size: int = setting(1000, "events kept while the broker is unreachable (then the oldest go)",
                              flag="--mqtt-queue", metavar="N", limits=(1, 1_000_000, False, False))


@dataclass(frozen=True)
class ProfileConfig:
    profile: str | None = setting(None, "driver profile from drowsy calibrate: closed threshold, hysteresis, "
                                  "rest pose", metavar="FILE", unset="no profile")


@dataclass(frozen=True)
class RunConfig:
    source: SourceConfig = field(default_factory=SourceConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)


SECTIONS = {"source": SourceConfig, "model": ModelConfig, "temporal": TemporalConfig, "output": OutputConfig,
            "serve": ServeConfig, "mqtt": MqttConfig, "profile": ProfileConfig}
# Field names are unique across sections, so each is also the flag's argparse dest.
FIELDS = {f.name: f for cls in SECTIONS.values() for f in fields(cls)}
SECTION_OF = {f.name: sec for sec, cls in SECTIONS.items() for f in fields(cls)}
LIMITS = {name: f.metadata["limits"] for name, f in FIELDS.items() if f.metadata.get("limits")}


def default_of(name: str):
    f = FIELDS[name]
    return f.default if f.default is not MISSING else None


# Our choices: at most a second between passes at 30 FPS (drift); runtime/track.py's flow checks:
# a point's forward-backward miss px, fewer points or a larger RMS fit residual px = uncertain.
LANDMARKS_EVERY_MAX, FLOW_FB_MAX_PX, FLOW_MIN_POINTS, FLOW_RESIDUAL_MAX_PX = 30, 1.0, 6, 1.5
