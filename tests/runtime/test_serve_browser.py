"""The web view in a real headless browser (Debian's chromium + chromium-driver, driven by
Selenium from the [test] extra): the page loads without console errors, shows the live video,
and its state follows a clip with eye closures while `drowsy run --serve --realtime` plays it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import write_avi

pytest.importorskip("uvicorn", reason="the [serve] extra is not installed")
pytest.importorskip("selenium", reason="selenium (the [test] extra) is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parents[2]
CLIP = "videos/grid/brbk7n.mpg"  # eyes closed on frames 21-23, open elsewhere

pytestmark = [pytest.mark.shared, pytest.mark.mediapipe,
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason="chromium and chromium-driver are not installed (apt-get install "
                                        "chromium chromium-driver)")]


@pytest.fixture(scope="module")
def closures_clip(shared, tmp_path_factory) -> Path:
    """Real pixels, 9 s: open (frames 0-20), the closed frame 22 held 2 s, open again; three times."""
    from drowsy.runtime.capture import VideoSource

    with VideoSource(shared / CLIP) as src:
        frames = [f.image for f in src]
    return write_avi(tmp_path_factory.mktemp("clip") / "closures.avi",
                     (frames[:21] + [frames[22]] * 50 + frames[24:]) * 3, 25.0)


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=412,915", f"--user-data-dir={tmp_path / 'profile'}"):  # a phone-sized window
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    yield driver
    driver.quit()


def test_the_page_follows_the_run_live(browser, closures_clip, landmarker):
    cmd = [sys.executable, "-m", "drowsy", "run", "--video", str(closures_clip), "--landmarker", str(landmarker),
           "--headless", "--no-alarm", "--realtime", "--serve", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        first = proc.stderr.readline()
        assert first.startswith("drowsy run: web view on http://127.0.0.1:"), first
        browser.get(first.split(" on ")[1].strip())
        states, deadline = [], time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            text = browser.find_element("id", "state").text
            if not states or states[-1] != text:
                states.append(text)
            if any(s == "open" for s in states) and any(s.startswith(("closed", "ALERT")) for s in states) \
                    and browser.find_elements("css selector", "#events li"):
                break
            time.sleep(0.05)
        assert "open" in states and any(s.startswith(("closed", "ALERT")) for s in states), states
        events = [li.text for li in browser.find_elements("css selector", "#events li")]
        assert any("microsleep" in e or "alert_on" in e or "blink" in e for e in events), events
        assert browser.execute_script("return document.getElementById('video').naturalWidth") > 0
        logs = browser.get_log("browser")  # before the run stops: then the stream ends, as it should
        assert [e for e in logs if e["level"] == "SEVERE"] == [], logs
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_the_page_shows_the_level_and_why_off_the_road(browser):
    import threading
    from dataclasses import replace

    import numpy as np

    from driver_scenes import every_new_event
    from drowsy.runtime.serve import ServeSink

    results, _ = every_new_event()
    picture = lambda r: replace(r, frame=replace(r.frame, image=np.full((120, 160, 3), 90, np.uint8)))  # noqa: E731
    critical = picture(next(r for r in results if r.state.level == "critical"))
    away = picture(next(r for r in results if not r.state.alert and r.state.attention is not None
                        and r.state.attention.why == "no_face"))
    sink = ServeSink("127.0.0.1", 0, perclos_alert=0.15, warn=print, say=print)
    now, stop = [critical], threading.Event()

    def feed():  # frames keep coming, as in a run: the page's video (and so its load) needs them
        while not stop.wait(0.1):
            sink.on_frame(now[0])

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        browser.get(f"http://127.0.0.1:{sink.port}/")
        for r, want in ((critical, f"ALERT (critical): {critical.state.reason}"), (away, "off the road: no_face")):
            now[0] = r
            deadline, text = time.monotonic() + 20, None
            while time.monotonic() < deadline and text != want:
                time.sleep(0.1)
                text = browser.find_element("id", "state").text
            assert text == want
    finally:
        stop.set()
        feeder.join()
        sink.close()
