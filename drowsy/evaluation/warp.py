"""Image warps for synthetic scenario clips: a head re-rendered turned or pitched, an iris shifted
within its eye, the picture slid out of view. Pure numpy + OpenCV on one BGR frame at a time.

The head: MediaPipe's 478 landmarks in 3D (x, y in pixels, z = MediaPipe's z × image width, 0 at the
head's centre, smaller = nearer the camera) are rotated about a pivot, projected orthographically,
and every triangle of the face mesh (MediaPipe's own FACE_LANDMARKS_TESSELATION) is mapped by its
affine transform. Triangles are drawn far to near, and those turned away from the camera are
skipped, so the near cheek covers the far one. The mesh has holes at the eyes and the mouth:
each is filled by a fan (from the iris centre, or the inner lips' centroid) so that the eyes move
with the head (left unfilled they kept the unmoved picture: skin where the eye had gone, which
the eye model read as closed eyes). Around the face a fixed ring (the face oval scaled
up) and the frame's corners are triangulated too (cv2.Subdiv2D): hair, ears and background stretch
between the moved oval and the ring instead of leaving a ghost of the original face.
The iris: a fan from each iris centre to its eye contour; moving the centre slides the iris
and stretches the sclera on the other side, the lids stay where they are.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RING_SCALE = 1.7  # the fixed ring around the face, in face-oval radii: room for a 45° turn
# MediaPipe's z is flatter than a head: at 1.0 the landmarker read back 19° of a 30° turn, at 1.5 26°.
DEPTH_SCALE = 1.5
RIGHT_IRIS, LEFT_IRIS = 468, 473  # iris centres (subject's right eye, left eye)
# The inner lip contour (MediaPipe's FACE_LANDMARKS_LIPS, inner half): the mouth's hole in the mesh.
INNER_LIPS = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)


@lru_cache(maxsize=1)
def mesh_topology() -> dict:
    """Face triangles, face oval and eye contours, from mediapipe's Tasks package."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    t = C.FACE_LANDMARKS_TESSELATION  # each triangle is three consecutive edges
    tris = np.array([(t[k].start, t[k + 1].start, t[k + 2].start) for k in range(0, len(t), 3)], np.int32)

    def loop(edges) -> np.ndarray:
        nxt = {c.start: c.end for c in edges}
        order = [edges[0].start]
        while nxt.get(order[-1], order[0]) != order[0] and len(order) <= len(nxt):
            order.append(nxt[order[-1]])
        return np.array(order, np.int32)

    return {"triangles": tris, "oval": loop(C.FACE_LANDMARKS_FACE_OVAL),
            "eyes": (np.array(sorted({c.start for c in C.FACE_LANDMARKS_RIGHT_EYE}), np.int32),
                     np.array(sorted({c.start for c in C.FACE_LANDMARKS_LEFT_EYE}), np.int32))}


def delaunay(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """Delaunay triangles (index triples) of 2D points inside the w×h frame (cv2.Subdiv2D)."""
    import cv2

    sub = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    pts = np.clip(points, 0, [w, h]).astype(np.float32)
    for p in pts:
        sub.insert((float(p[0]), float(p[1])))
    out = []
    for x0, y0, x1, y1, x2, y2 in sub.getTriangleList():
        idx = [int(np.argmin(np.abs(pts - (x, y)).sum(axis=1))) for x, y in ((x0, y0), (x1, y1), (x2, y2))]
        if len(set(idx)) == 3:
            out.append(idx)
    return np.array(out, np.int32).reshape(-1, 3)


def _area2(p: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def warp_mesh(image: np.ndarray, src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Piecewise-affine warp: the pixels of each triangle move from src to dst; triangles are
    drawn in the given order (later ones cover earlier ones); pixels no triangle covers stay."""
    import cv2

    h, w = image.shape[:2]
    ids = np.full((h, w), -1, np.int32)
    mats = np.zeros((len(triangles), 2, 3), np.float64)
    for k, tri in enumerate(triangles):
        d, s = dst[tri].astype(np.float32), src[tri].astype(np.float32)
        if abs(_area2(d.astype(np.float64), np.array([[0, 1, 2]]))[0]) < 1e-3:
            continue
        mats[k] = cv2.getAffineTransform(d, s)  # destination pixel → where it comes from
        cv2.fillConvexPoly(ids, np.round(d * 16).astype(np.int32), k, lineType=cv2.LINE_8, shift=4)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    m = mats[np.maximum(ids, 0)]
    inside = ids >= 0
    mx = np.where(inside, m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2], xs).astype(np.float32)
    my = np.where(inside, m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2], ys).astype(np.float32)
    return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def rotate_points(pts3d: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """The landmarks (N, 3 pixels) turned: yaw > 0 turns the nose towards the image's right, pitch
    > 0 lifts it (the runtime's head-pose convention). Yaw pivots on the head's vertical axis
    (MediaPipe's z origin); pitch on the neck, below the chin, as a head dropping forward does."""
    oval = pts3d[mesh_topology()["oval"]]
    cx = oval[:, 0].mean()
    top, chin = oval[:, 1].min(), oval[:, 1].max()
    height = chin - top
    p = pts3d.astype(np.float64) * (1.0, 1.0, DEPTH_SCALE) - (cx, 0.0, 0.0)
    a = np.radians(yaw_deg)
    x = p[:, 0] * np.cos(a) - p[:, 2] * np.sin(a)
    z = p[:, 0] * np.sin(a) + p[:, 2] * np.cos(a)
    py, pz = chin + 0.25 * height, 0.3 * height  # the neck: below the chin, behind the face
    y, z = p[:, 1] - py, z - pz
    b = np.radians(pitch_deg)
    y2 = y * np.cos(b) + z * np.sin(b)
    z2 = -y * np.sin(b) + z * np.cos(b)
    return np.stack([x + cx, y2 + py, (z2 + pz) / DEPTH_SCALE], axis=1)


def turn_head(image: np.ndarray, pts3d: np.ndarray, yaw_deg: float, pitch_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(the frame with the head re-rendered turned, the landmarks' new 2D positions (N, 2))."""
    if yaw_deg == 0 and pitch_deg == 0:
        return image, pts3d[:, :2].copy()
    h, w = image.shape[:2]
    topo = mesh_topology()
    moved = rotate_points(pts3d, yaw_deg, pitch_deg)
    oval = topo["oval"]
    centre = pts3d[oval, :2].mean(axis=0)
    ring = centre + RING_SCALE * (pts3d[oval, :2] - centre)
    frame = np.array([(0, 0), (w / 2, 0), (w, 0), (w, h / 2), (w, h), (w / 2, h), (0, h), (0, h / 2)], float)
    outer_src = np.concatenate([pts3d[oval, :2], ring, frame])
    outer_dst = np.concatenate([moved[oval, :2], np.clip(ring, 0, [w, h]), frame])
    outer_src[len(oval):] = np.clip(outer_src[len(oval):], 0, [w, h])
    outer = delaunay(outer_src, w, h)
    outer = outer[(outer >= len(oval)).any(axis=1)]  # drop the triangles filling the face itself
    n = len(pts3d)
    src = np.concatenate([pts3d[:, :2], outer_src])
    dst = np.concatenate([moved[:, :2], outer_dst])
    # The holes: a fan from each iris centre to its eye contour, one from the mouth's centroid
    # (an extra point, appended after the ring) to the inner lips.
    mouth = np.array(INNER_LIPS, np.int32)
    extra = len(src)
    src = np.concatenate([src, pts3d[mouth, :2].mean(axis=0)[None]])
    dst = np.concatenate([dst, moved[mouth, :2].mean(axis=0)[None]])
    holes = [_fan(pts3d[:, :2], hub, contour, hub_at)
             for hub, contour, hub_at in ((RIGHT_IRIS, topo["eyes"][0], None),
                                                (LEFT_IRIS, topo["eyes"][1], None),
                                                (extra, mouth, pts3d[mouth, :2].mean(axis=0)))]
    face = np.concatenate([topo["triangles"], *holes])
    depth = np.concatenate([moved[:, 2], np.zeros(len(outer_src)), [moved[mouth, 2].mean()]])  # by point of src
    # Seen from the camera the mesh keeps its winding; a triangle whose winding flips faces away.
    facing = np.sign(_area2(src, face)) == np.sign(_area2(dst, face))
    face = face[facing]
    far_first = np.argsort(-depth[face].mean(axis=1))
    tris = np.concatenate([outer + n, face[far_first]])
    return warp_mesh(image, src, dst, tris), moved[:, :2]


def _fan(pts2d: np.ndarray, centre: int, contour: np.ndarray, centre_at=None) -> np.ndarray:
    """Triangles (centre, a, b) around the contour, its points taken in angle order about the centre
    (pts2d[centre], or centre_at for a point not among pts2d)."""
    c = pts2d[centre] if centre_at is None else centre_at
    ring = contour[np.argsort(np.arctan2(pts2d[contour, 1] - c[1], pts2d[contour, 0] - c[0]))]
    return np.array([(centre, a, b) for a, b in zip(ring, np.roll(ring, -1))], np.int32)


def shift_iris(image: np.ndarray, pts2d: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Both irises moved within their eyes by (dx, dy) eye widths / eye heights (dx > 0 towards the
    image's right, dy > 0 down), at most 0.3 of each so the centre stays inside the contour."""
    if dx == 0 and dy == 0:
        return image
    h, w = image.shape[:2]
    src, dst, tris = [], [], []
    for contour, iris in zip(mesh_topology()["eyes"], (RIGHT_IRIS, LEFT_IRIS)):
        c = pts2d[contour]
        width = np.ptp(c[:, 0])
        height = max(np.ptp(c[:, 1]), 1.0)
        base = len(src)
        centre = pts2d[iris]
        order = np.argsort(np.arctan2(c[:, 1] - centre[1], c[:, 0] - centre[0]))
        ring = c[order]
        src += [centre, *ring]
        dst += [centre + (np.clip(dx, -0.3, 0.3) * width, np.clip(dy, -0.3, 0.3) * height), *ring]
        m = len(ring)
        tris += [(base, base + 1 + k, base + 1 + (k + 1) % m) for k in range(m)]
    return warp_mesh(image, np.array(src), np.array(dst), np.array(tris, np.int32))


def slide(image: np.ndarray, fraction: float, direction: str = "down") -> np.ndarray:
    """The picture moved by `fraction` of its size towards `direction` (down, left, right, up);
    the uncovered part repeats the far edge (background), so at 1.0 nothing of the face is left."""
    import cv2

    if fraction <= 0:
        return image
    h, w = image.shape[:2]
    dx, dy = {"down": (0, h), "up": (0, -h), "left": (-w, 0), "right": (w, 0)}[direction]
    # The outermost lines of a frame are often a dark codec border: repeat a line a little inside.
    image = image.copy()
    k = max(1, int(0.03 * (h if dy else w)))
    if dy > 0:
        image[:k] = image[k]
    elif dy < 0:
        image[-k:] = image[-k - 1]
    elif dx > 0:
        image[:, :k] = image[:, k:k + 1]
    else:
        image[:, -k:] = image[:, -k - 1:-k]
    m = np.float32([[1, 0, dx * min(fraction, 1.0)], [0, 1, dy * min(fraction, 1.0)]])
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
