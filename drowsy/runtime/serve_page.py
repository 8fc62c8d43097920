"""The web view's one page: HTML, CSS and script inline (no external assets: it must work
offline, in a car, on a phone). The script reads ?token= from its own address and passes it
on to /events and /video.mjpg; it writes text with textContent only (event fields are data)."""

from __future__ import annotations

import json

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>drowsy</title>
<style>
 body{margin:0;font:16px/1.35 system-ui,sans-serif;background:#111;color:#eee}
 main{max-width:720px;margin:auto;padding:8px}
 img{width:100%;background:#222;border-radius:6px;min-height:120px;display:block}
 #banner{font-size:1.6em;font-weight:700;padding:10px;border-radius:6px;margin:8px 0;background:#264;text-align:center}
 #banner.closed{background:#a60}#banner.na{background:#555}#banner.alert{background:#c11}
 #banner.stale{background:#333;color:#aaa}
 dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:8px 0}dt{color:#aaa}dd{margin:0}
 .bar{position:relative;height:14px;background:#333;border-radius:4px;margin-top:3px}
 .bar i{position:absolute;left:0;top:0;bottom:0;background:#da3;border-radius:4px}
 .bar b{position:absolute;top:-3px;bottom:-3px;width:2px;background:#f44}
 ol{list-style:none;padding:0;margin:0;font-size:.9em}li{padding:3px 0;border-top:1px solid #333}
 h2{font-size:1em;color:#aaa;margin:12px 0 4px}
</style></head><body><main>
<img id="video" alt="live overlay">
<div id="banner" class="stale"><span id="state">connecting</span></div>
<dl>
 <dt>P(closed)</dt><dd>right <span id="p-right">-</span> &middot; left <span id="p-left">-</span></dd>
 <dt>PERCLOS</dt><dd><span id="perclos">-</span> <span id="level"></span>
  <div class="bar"><i id="perclos-bar" style="width:0"></i><b id="perclos-mark"></b></div></dd>
 <dt>eyes closed</dt><dd id="closed-for">0.0 s</dd>
 <dt>alert</dt><dd><span id="alert">off</span> <span id="reason"></span></dd>
 <dt>time</dt><dd id="t">-</dd>
</dl>
<h2>last events</h2><ol id="events"></ol>
</main><script>
"use strict";
const ALERT_AT = __PERCLOS_ALERT__;
const token = new URLSearchParams(location.search).get("token");
const q = token ? "?token=" + encodeURIComponent(token) : "";
const $ = (id) => document.getElementById(id);
const fmt = (v, d) => (v === null || v === undefined) ? "-" : Number(v).toFixed(d);
let lastStatus = 0;
if (ALERT_AT !== null) { $("perclos-mark").style.left = (100 * ALERT_AT) + "%"; }
else { $("perclos-mark").style.display = "none"; }
$("video").src = "video.mjpg" + q;

function show(s) {
  lastStatus = Date.now();
  let state, cls;
  if (s.alert) { state = "ALERT" + (s.level ? " (" + s.level + ")" : "") + ": " + (s.reason || "drowsy"); cls = "alert"; }
  else if (s.on_road === false) { state = "off the road: " + s.off_road; cls = "na"; }
  else if (s.closed === null) { state = "not assessable" + (s.reason ? ": " + s.reason : ""); cls = "na"; }
  else if (s.closed) { state = "closed " + fmt(s.closed_for, 1) + " s"; cls = "closed"; }
  else { state = "open"; cls = ""; }
  $("state").textContent = state;
  $("banner").className = cls;
  const p = s.p_closed || [null, null];
  $("p-right").textContent = fmt(p[0], 2);
  $("p-left").textContent = fmt(p[1], 2);
  $("perclos").textContent = s.perclos === null ? "- (not enough time yet)" : fmt(100 * s.perclos, 0) + " %";
  $("perclos-bar").style.width = s.perclos === null ? "0" : Math.min(100, 100 * s.perclos) + "%";
  $("level").textContent = (ALERT_AT === null || s.perclos === null) ? "" :
    (s.perclos >= ALERT_AT ? "(at or above the alert level " : "(alert level ") + fmt(100 * ALERT_AT, 0) + " %)";
  $("closed-for").textContent = fmt(s.closed_for, 1) + " s";
  $("alert").textContent = s.alert ? "ON" + (s.level ? " " + s.level : "") : "off";
  $("reason").textContent = s.reason ? "(" + s.reason + ")" : "";
  $("t").textContent = s.t === null ? "-" : fmt(s.t, 1) + " s";
}

function addEvent(e) {
  const li = document.createElement("li");
  const rest = Object.entries(e).filter(([k]) => k !== "t" && k !== "event")
    .map(([k, v]) => k + "=" + (typeof v === "number" ? Math.round(v * 100) / 100 : v)).join(" ");
  li.textContent = fmt(e.t, 1) + " s  " + e.event + (rest ? "  " + rest : "");
  const list = $("events");
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 20) list.removeChild(list.lastChild);
}

const source = new EventSource("events" + q);
source.addEventListener("status", (m) => show(JSON.parse(m.data)));
source.addEventListener("event", (m) => addEvent(JSON.parse(m.data)));
setInterval(() => {  // no news for 3 s: the run ended, the camera is gone, or the link is down
  if (Date.now() - lastStatus > 3000) {
    $("banner").className = "stale";
    $("state").textContent = source.readyState === EventSource.OPEN ? "no frames" : "reconnecting";
  }
}, 1000);
</script></body></html>
"""


def page(perclos_alert: float | None) -> str:
    """The page, with the PERCLOS alert level drawn as a mark on its gauge."""
    return _PAGE.replace("__PERCLOS_ALERT__", json.dumps(perclos_alert))
