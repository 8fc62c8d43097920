"""`drowsy bench`'s tables in Markdown: the stage table, the classifier table (bench.py) and the
per --landmarks-every table (benchrates.py), from the JSON document they write."""

from __future__ import annotations


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def _stage_rows(doc: dict) -> list[str]:
    rows = ["| stage | p50 ms | p90 ms | mean ms |", "|---|---:|---:|---:|"]
    for k, s in doc["stages"].items():
        label = {"decode": "decode / capture", "temporal": "temporal logic", "total": "total (pipeline stages)",
                 "latency": "latency (capture to result)"}.get(k, k)
        rows.append(f"| {label} | {_fmt(s['p50_ms'])} | {_fmt(s['p90_ms'])} | {_fmt(s['mean_ms'])} |")
    mode = "stages overlapping" if doc.get("parallel", True) else "stages one after another"
    rows.append(f"| **end to end** ({mode}) | | | **{doc['fps']:.1f} frames/s** |")
    ref = doc.get("reference")
    if ref:
        rows.append(f"| reference loop (decode + detect_for_video) | | | {ref['fps']:.1f} frames/s |")
        rows.append(f"| **ratio drowsy / reference** | | | **{doc['ratio']:.3f}** |")
    return rows


def markdown(doc: dict) -> str:
    w, h = doc["frame_size"]
    head = [f"drowsy bench: {doc['source']}, {w}x{h}, {doc['frames']} frames after {doc['warmup']} warm-up, "
            f"J={doc['jitter']} ({2 * (doc['jitter'] + 1)} crops per frame), face in {doc['face_frames']} frames, "
            f"landmarker num_faces={doc.get('faces', 1)}, {doc.get('dropped', 0)} frames dropped",
            f"CPU: {doc['cpu']} ({doc['cores']} logical cores)" + (f"; GPU: {doc['gpu']}" if doc["gpu"] else "")
            + ("" if None in doc["load_avg_1min"] else
               f"; load average {doc['load_avg_1min'][0]:g} before, {doc['load_avg_1min'][1]:g} after"),
            "eye model providers: " + ", ".join(doc["providers"]),
            "versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()), ""]
    out = head + _stage_rows(doc)
    if doc["classifier"]:
        out += ["", "| classifier | provider | threads | batch | p50 ms / call | p90 ms / call | ms / crop |",
                "|---|---|---:|---|---:|---:|---:|"]
        for r in doc["classifier"]:
            out.append(f"| {r['model']} | {r['provider'].replace('ExecutionProvider', '')} | {r['threads']} | "
                       f"{r['batch_label']} | {_fmt(r['p50_ms'])} | {_fmt(r['p90_ms'])} | {r['per_crop_ms']:.3f} |")
    out += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(out)


def every_table(rows: list[dict]) -> str:
    cores = rows[0]["cores"] if rows else None
    out = [f"landmarks on some frames (--landmarks-every), {cores} core(s) usable by this process:",
           "| --landmarks-every | eye-state FPS | landmark FPS | landmark passes / frame | CPU ms / frame (all threads) | "
           "mean motion ms / frame | mean crop + classify ms / frame |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        p = r["mean_ms"]
        eye = None if p.get("crop") is None else p["crop"] + (p.get("classify") or 0.0)
        out.append(f"| {r['every']} | {r['eye_fps']:.1f} | {r['landmark_fps']:.1f} | "
                   f"{r['landmark_passes'] / max(1, r['frames']):.3f} | {r['cpu_ms_per_frame']:.2f} | "
                   f"{_fmt(p.get('motion'))} | {_fmt(eye)} |")
    return "\n".join(out)
