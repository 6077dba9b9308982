"""Drawing the offline datasets: bedrooms (`rooms`), faces (`faces`) and shapes on clutter (`objects10`).

Every function draws a whole batch at once on a 64×64 canvas with coordinate grids and soft masks; every
parameter is a [B] tensor drawn from the given torch.Generator, so a dataset is a pure function of its seed.
`dcgan_lib.data.datasets` turns these batches into cached, downsampled uint8 datasets.
"""
from __future__ import annotations

import math
from functools import partial

import torch
from torch import Tensor

from dcgan_lib.data.drawing import (  # noqa: F401 (CANVAS is part of this module's interface)
    _XS,
    _YS,
    CANVAS,
    _bernoulli,
    _choose,
    _each,
    _ellipse,
    _finish,
    _nan_boxes,
    _paint,
    _rect,
    _soft,
    _uniform,
)

OBJECT_CLASSES = ["circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon", "crescent", "arrow"]

# ---- rooms: a stand-in for LSUN bedrooms ---------------------------------------------------------------------------
WALL_COLOURS = [(0.93, 0.89, 0.80), (0.78, 0.86, 0.93), (0.80, 0.88, 0.78), (0.95, 0.82, 0.82), (0.82, 0.82, 0.84),
                (0.90, 0.80, 0.62), (0.70, 0.76, 0.70), (0.96, 0.94, 0.90)]
FLOOR_COLOURS = [(0.55, 0.38, 0.22), (0.68, 0.52, 0.34), (0.42, 0.30, 0.20), (0.50, 0.50, 0.52), (0.55, 0.25, 0.25),
                 (0.36, 0.42, 0.52)]
WOOD_COLOURS = [(0.40, 0.25, 0.13), (0.55, 0.37, 0.20), (0.28, 0.18, 0.10), (0.90, 0.88, 0.84), (0.20, 0.20, 0.22)]
BLANKET_COLOURS = [(0.80, 0.20, 0.20), (0.20, 0.35, 0.75), (0.25, 0.60, 0.35), (0.95, 0.75, 0.30),
                   (0.55, 0.30, 0.65), (0.95, 0.95, 0.95), (0.30, 0.70, 0.75), (0.85, 0.45, 0.60)]


def draw_rooms(count: int, gen: torch.Generator) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw `count` bedrooms at 64x64: wall, floor, then door, windows, picture, lamp and bed."""
    horizon = _uniform(gen, count, 26, 40).round()
    img = _wall_and_floor(count, gen, horizon)
    # Door, windows and picture hang on the wall in four horizontal slots (a random permutation per image).
    slot = torch.argsort(torch.rand(count, 4, generator=gen), dim=1).float() * 16
    has_door, door_box = _door(img, gen, horizon, slot)
    has_window, n_windows, window_boxes = _windows(img, gen, horizon, slot)
    has_picture, picture_box = _picture(img, gen, horizon, slot)
    bed = _bed_geometry(count, gen, horizon)   # the lamp stands beside the bed, drawn last as nearest to the viewer
    has_lamp, lamp_box = _lamp(img, gen, horizon, bed)
    bed_box = _bed(img, gen, bed)
    attributes = {"bed": bed["has_bed"], "window": has_window, "lamp": has_lamp, "door": has_door,
                  "picture": has_picture, "n_windows": n_windows}
    boxes = {"bed": bed_box[:, None], "window": window_boxes, "lamp": lamp_box[:, None],
             "door": door_box[:, None], "picture": picture_box[:, None]}
    return _finish(img, gen), attributes, boxes


def _wall_and_floor(count: int, gen: torch.Generator, horizon: Tensor) -> Tensor:
    """The empty room: a wall lit from above, a floor lighter toward the viewer, a skirting board."""
    wall, _ = _choose(gen, WALL_COLOURS, count, 0.05)
    floor, _ = _choose(gen, FLOOR_COLOURS, count, 0.05)
    shade = (0.92 + 0.1 * _YS / _each(horizon)).clamp(max=1.02)[:, None]
    img = wall[:, :, None, None] * shade.expand(count, 3, -1, CANVAS)
    img = img.contiguous()
    depth = ((_YS - _each(horizon)) / (64 - _each(horizon))).clamp(0, 1)        # floor gets lighter toward the viewer
    floor_mask = _rect(torch.zeros(count), horizon, torch.full((count,), 64.0), torch.full((count,), 64.0))
    img.lerp_(floor[:, :, None, None] * (0.8 + 0.25 * depth[:, None]), floor_mask[:, None])
    skirting = _rect(torch.zeros(count), horizon - 1, torch.full((count,), 64.0), horizon)
    _paint(img, skirting, wall * 0.7)
    return img


def _door(img: Tensor, gen: torch.Generator, horizon: Tensor, slot: Tensor) -> tuple[Tensor, Tensor]:
    """A door in slot 0 of half the rooms: (present, its box)."""
    count = len(img)
    uniform = partial(_uniform, gen, count)
    has_door = _bernoulli(gen, count, 0.5)
    w = uniform(9, 13)
    x0 = slot[:, 0] + 1.5 + uniform(0, 1) * (13 - w)
    top = horizon * uniform(0.12, 0.25)
    door_colour, _ = _choose(gen, WOOD_COLOURS, count, 0.05)
    _paint(img, _rect(x0 - 1, top - 1, x0 + w + 1, horizon) * _each(has_door), door_colour * 0.55)   # frame
    _paint(img, _rect(x0, top, x0 + w, horizon) * _each(has_door), door_colour)
    inset = (_rect(x0 + 2, top + 2, x0 + w - 2, top + 0.45 * (horizon - top))
             + _rect(x0 + 2, top + 0.55 * (horizon - top), x0 + w - 2, horizon - 2))
    _paint(img, inset * _each(has_door), door_colour * 0.85)                  # two panels
    knob_x = torch.where(torch.rand(count, generator=gen) < 0.5, x0 + 1.8, x0 + w - 1.8)
    _paint(img, _ellipse(knob_x, top + 0.55 * (horizon - top), 1.1, 1.1) * _each(has_door),
           torch.tensor([0.85, 0.70, 0.25]).expand(count, 3))
    door_box = _nan_boxes(has_door, x0 - 1, top - 1, x0 + w + 1, horizon)

    return has_door, door_box


def _windows(img: Tensor, gen: torch.Generator, horizon: Tensor, slot: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One or two windows in slots 1 and 2 of half the rooms: (present, how many, their boxes)."""
    count = len(img)
    uniform = partial(_uniform, gen, count)
    has_window = _bernoulli(gen, count, 0.5)
    n_windows = has_window * (1 + _bernoulli(gen, count, 0.4))
    w, h = uniform(10, 14), torch.minimum(uniform(9, 14), horizon - 8)
    top = 3 + uniform(0, 1) * (horizon - h - 6)
    frame, _ = _choose(gen, [(0.96, 0.96, 0.94), (0.45, 0.30, 0.18), (0.25, 0.25, 0.28)], count, 0.03)
    sky = torch.stack([uniform(0.45, 0.65), uniform(0.70, 0.85), uniform(0.90, 1.0)], dim=1)
    window_boxes = []
    for k in range(2):
        present = (n_windows > k).float()
        x0 = slot[:, 1 + k] + 1 + uniform(0, 1) * (14 - w)
        x1, y1 = x0 + w, top + h
        _paint(img, _rect(x0, top, x1, y1) * _each(present), frame)
        pane = _rect(x0 + 1.5, top + 1.5, x1 - 1.5, y1 - 1.5) * _each(present)
        sky_ramp = (0.85 + 0.2 * ((_YS - _each(top)) / _each(h)).clamp(0, 1))[:, None]
        img.lerp_(sky[:, :, None, None] * sky_ramp, pane[:, None])
        bars = (_rect(x0 + w / 2 - 0.5, top, x0 + w / 2 + 0.5, y1)
                + _rect(x0, top + h / 2 - 0.5, x1, top + h / 2 + 0.5)).clamp(max=1)
        _paint(img, bars * _each(present), frame)
        window_boxes.append(_nan_boxes(present, x0, top, x1, y1))

    return has_window, n_windows, torch.stack(window_boxes, dim=1)


def _picture(img: Tensor, gen: torch.Generator, horizon: Tensor, slot: Tensor) -> tuple[Tensor, Tensor]:
    """A framed landscape in slot 3 of half the rooms: (present, its box)."""
    count = len(img)
    uniform = partial(_uniform, gen, count)
    has_picture = _bernoulli(gen, count, 0.5)
    w, h = uniform(8, 13), uniform(7, 11)
    x0 = slot[:, 3] + 1.5 + uniform(0, 1) * (13 - w)
    top = 4 + uniform(0, 1) * (horizon - h - 10)
    x1, y1 = x0 + w, top + h
    frame, _ = _choose(gen, [(0.15, 0.12, 0.10), (0.80, 0.65, 0.25), (0.95, 0.95, 0.95)], count, 0.03)
    sky_colour = torch.rand(count, 3, generator=gen) * 0.6 + 0.4
    land_colour = torch.rand(count, 3, generator=gen) * 0.7
    split = top + 1.5 + uniform(0.3, 0.7) * (h - 3)
    _paint(img, _rect(x0, top, x1, y1) * _each(has_picture), frame)
    _paint(img, _rect(x0 + 1.5, top + 1.5, x1 - 1.5, split) * _each(has_picture), sky_colour)
    _paint(img, _rect(x0 + 1.5, split, x1 - 1.5, y1 - 1.5) * _each(has_picture), land_colour)
    sun = (_ellipse(x0 + 1.5 + uniform(0.2, 0.8) * (w - 3), top + 3, 1.3, 1.3)
           * _rect(x0 + 1.5, top + 1.5, x1 - 1.5, split))
    _paint(img, sun * _each(has_picture), torch.tensor([1.0, 0.9, 0.3]).expand(count, 3))
    picture_box = _nan_boxes(has_picture, x0, top, x1, y1)

    return has_picture, picture_box


def _bed_geometry(count: int, gen: torch.Generator, horizon: Tensor) -> dict[str, Tensor]:
    """Where each room's bed is (in 85% of them), before anything is drawn: the lamp stands beside it."""
    uniform = partial(_uniform, gen, count)
    has_bed = _bernoulli(gen, count, 0.85)
    bed_w = uniform(26, 40)
    bed_x0 = 1 + uniform(0, 1) * (62 - bed_w)
    bed_x1 = bed_x0 + bed_w
    bed_y1 = horizon + 12 + uniform(0, 1) * (62 - horizon - 12)
    mattress_h = uniform(5, 8)
    mattress_top = bed_y1 - 5 - mattress_h
    head_top = mattress_top - uniform(6, 10)
    head_left = torch.rand(count, generator=gen) < 0.5

    return {"has_bed": has_bed, "bed_x0": bed_x0, "bed_x1": bed_x1, "bed_y1": bed_y1, "mattress_top": mattress_top,
            "head_top": head_top, "head_left": head_left}


def _lamp(img: Tensor, gen: torch.Generator, horizon: Tensor, bed: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """A standing lamp in half the rooms, beside the bed where there is one: (present, its box)."""
    count, zeros = len(img), torch.zeros(len(img))
    has_bed, bed_x0, bed_x1 = bed["has_bed"], bed["bed_x0"], bed["bed_x1"]
    uniform = partial(_uniform, gen, count)
    has_lamp = _bernoulli(gen, count, 0.5)
    left_space, right_space = bed_x0 * has_bed, (64 - bed_x1) * has_bed
    lamp_x = torch.where(left_space >= right_space, left_space / 2, bed_x1 + right_space / 2)
    lamp_x = torch.where(has_bed.bool(), lamp_x, uniform(8, 56)).clamp(6, 58) + uniform(-1.5, 1.5)
    lamp_y1 = torch.minimum(horizon + uniform(3, 12), torch.full((count,), 62.0))
    stand_h = uniform(14, 20)
    shade_y1 = lamp_y1 - stand_h
    shade_y0 = shade_y1 - uniform(5, 7)
    shade_half = uniform(4, 5.5)
    shade_colour = torch.stack([uniform(0.9, 1.0), uniform(0.75, 0.9), uniform(0.35, 0.6)], dim=1)
    dark = torch.tensor([0.18, 0.16, 0.15]).expand(count, 3)
    _paint(img, _rect(lamp_x - 0.6, shade_y1, lamp_x + 0.6, lamp_y1) * _each(has_lamp), dark)                  # stand
    _paint(img, _rect(lamp_x - 3, lamp_y1 - 1.5, lamp_x + 3, lamp_y1) * _each(has_lamp), dark)                  # base
    t = ((_YS + 0.5 - _each(shade_y0)) / _each(shade_y1 - shade_y0)).clamp(0, 1)      # shade: a trapezoid
    half = _each(shade_half) * (0.55 + 0.45 * t)
    shade = _soft(half - (_XS + 0.5 - _each(lamp_x)).abs()) * _rect(zeros, shade_y0, zeros + 64, shade_y1)
    _paint(img, shade * _each(has_lamp), shade_colour)
    lamp_box = _nan_boxes(has_lamp, lamp_x - shade_half, shade_y0, lamp_x + shade_half, lamp_y1)

    return has_lamp, lamp_box


def _bed(img: Tensor, gen: torch.Generator, geometry: dict[str, Tensor]) -> Tensor:
    """The bed, nearest to the viewer: headboard, footboard, legs, rail, blanket and pillow; returns its box."""
    count = len(img)
    uniform = partial(_uniform, gen, count)
    has_bed, bed_x0, bed_x1, bed_y1 = (geometry[k] for k in ("has_bed", "bed_x0", "bed_x1", "bed_y1"))
    mattress_top, head_top, head_left = (geometry[k] for k in ("mattress_top", "head_top", "head_left"))
    frame, _ = _choose(gen, WOOD_COLOURS, count, 0.05)
    blanket, _ = _choose(gen, BLANKET_COLOURS, count, 0.08)
    bed = _each(has_bed)
    head_x0 = torch.where(head_left, bed_x0, bed_x1 - 3)
    foot_x0 = torch.where(head_left, bed_x1 - 2, bed_x0)
    _paint(img, _rect(head_x0, head_top, head_x0 + 3, bed_y1) * bed, frame)                               # headboard
    _paint(img, _rect(foot_x0, mattress_top + 2, foot_x0 + 2, bed_y1) * bed, frame)                       # footboard
    _paint(img, (_rect(bed_x0 + 3, bed_y1 - 5, bed_x0 + 5, bed_y1) + _rect(bed_x1 - 5, bed_y1 - 5, bed_x1 - 3, bed_y1))
           .clamp(max=1) * bed, frame * 0.8)                                                              # legs
    _paint(img, _rect(bed_x0 + 2, bed_y1 - 6, bed_x1 - 2, bed_y1 - 4) * bed, frame * 0.9)                 # rail
    _paint(img, _rect(bed_x0 + 3, mattress_top, bed_x1 - 2, bed_y1 - 4.5) * bed, blanket)                 # blanket
    _paint(img, _rect(bed_x0 + 3, bed_y1 - 6.5, bed_x1 - 2, bed_y1 - 5.5) * bed, blanket * 0.75)          # fold
    pillow_x = torch.where(head_left, bed_x0 + 3.5, bed_x1 - 11.5)
    _paint(img, _ellipse(pillow_x + 4, mattress_top - 0.5, 4.2, 2.2) * bed,
           torch.stack([uniform(0.9, 1), uniform(0.9, 1), uniform(0.85, 1)], dim=1))                        # pillow
    bed_box = _nan_boxes(has_bed, bed_x0, head_top, bed_x1, bed_y1)

    return bed_box


# ---- faces: a stand-in for the paper's Faces dataset ---------------------------------------------------------------
SKIN_TONES = [(1.00, 0.87, 0.77), (0.96, 0.80, 0.66), (0.87, 0.68, 0.52), (0.74, 0.53, 0.38), (0.55, 0.38, 0.26),
              (0.40, 0.27, 0.18)]
HAIR_COLOURS = [(0.08, 0.07, 0.07), (0.27, 0.16, 0.08), (0.48, 0.30, 0.14), (0.90, 0.76, 0.42), (0.70, 0.27, 0.10),
                (0.65, 0.65, 0.66)]
BACKGROUNDS = [(0.70, 0.80, 0.90), (0.75, 0.88, 0.75), (0.88, 0.78, 0.85), (0.80, 0.80, 0.80), (0.60, 0.70, 0.60),
               (0.92, 0.90, 0.75), (0.45, 0.55, 0.70)]


def draw_faces(count: int, gen: torch.Generator) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw `count` portraits at 64x64 with smile, glasses, long hair, yaw, hair colour and skin tone."""
    uniform = partial(_uniform, gen, count)
    smile, glasses, long_hair = _bernoulli(gen, count, 0.5), _bernoulli(gen, count, 0.5), _bernoulli(gen, count, 0.5)
    yaw = uniform(-1, 1)
    background, _ = _choose(gen, BACKGROUNDS, count, 0.06)
    skin, skin_tone = _choose(gen, SKIN_TONES, count, 0.02)
    hair, hair_colour = _choose(gen, HAIR_COLOURS, count, 0.03)
    shirt = torch.rand(count, 3, generator=gen) * 0.8 + 0.1

    img = background[:, :, None, None] * (1.05 - 0.12 * _YS / 64)[:, None]
    img = img.expand(count, 3, CANVAS, CANVAS).contiguous()
    cx, cy = 32 + uniform(-3, 3), 29 + uniform(-2, 2)
    ry, rx0 = uniform(16, 18), uniform(12.5, 14)
    rx = rx0 * (1 - 0.28 * yaw.abs())                  # the oval narrows as the head turns
    fx = cx + 0.38 * rx0 * yaw                         # features shift toward the turned side

    _paint(img, _ellipse(cx, 64 + 6 + uniform(0, 2), uniform(24, 28), 15), shirt)                        # shoulders
    long = _rect(cx - rx - 5, cy, cx + rx + 5, 58 + uniform(0, 3)).maximum(_ellipse(cx, cy - 1, rx + 5, ry + 3))
    _paint(img, long * _each(long_hair), hair)                                                          # long hair
    _paint(img, _rect(cx - 5, cy + ry - 6, cx + 5, 59), skin * 0.85)                                     # neck
    _paint(img, _ellipse(cx, cy, rx, ry), skin)                                                          # face
    hairline = cy - ry * uniform(0.35, 0.5)
    cap = _ellipse(cx, cy - 1.5, rx + 2, ry + 2.5) * _rect(cx - 40, cy - 40, cx + 40, hairline)
    _paint(img, cap, hair)                                                                               # hair on top

    eye_y = cy - 2 + uniform(-0.5, 0.5)
    spacing = 0.43 * rx0 * (1 - 0.25 * yaw.abs())
    white = torch.tensor([0.97, 0.97, 0.97]).expand(count, 3)
    dark = torch.tensor([0.08, 0.06, 0.06]).expand(count, 3)
    for side in (-1, 1):
        ex = fx + side * spacing
        _paint(img, _rect(ex - 2.5, eye_y - 5.5, ex + 2.5, eye_y - 4.3), hair * 0.8)                    # eyebrow
        _paint(img, _ellipse(ex, eye_y, 2.6, 1.7), white)
        _paint(img, _ellipse(ex + 0.9 * yaw, eye_y, 1.4, 1.4), dark)
        # glasses: thick dark frames over tinted lenses, bold enough for a 64×64 generator to draw
        _paint(img, _ellipse(ex, eye_y, 3.6, 2.8) * _each(glasses) * 0.45, dark)                            # lenses
        ring = (_ellipse(ex, eye_y, 5.0, 4.1) - _ellipse(ex, eye_y, 3.4, 2.6)).clamp(min=0)
        _paint(img, ring * _each(glasses), dark)                                                            # frames
        temple_x0, temple_x1 = (cx - rx, ex - 4.8) if side < 0 else (ex + 4.8, cx + rx)
        _paint(img, _rect(temple_x0, eye_y - 1.6, temple_x1, eye_y - 0.2) * _each(glasses), dark)          # temples
    bridge = _rect(fx - spacing + 4.2, eye_y - 1.3, fx + spacing - 4.2, eye_y + 0.5)
    _paint(img, bridge * _each(glasses), dark)                                                              # bridge
    _paint(img, _ellipse(fx + 1.5 * yaw, cy + 4, 1.6, 2.8), skin * 0.78)                                  # nose

    mx, my = fx, cy + 9.5
    lips = torch.tensor([0.62, 0.16, 0.16]).expand(count, 3)
    # A smile is an open, toothy grin (as most smiles in CelebA are), wide enough to survive a 64×64 generator;
    # a neutral mouth is a thin straight line.
    grin = _ellipse(mx, my, 6.5, 4.2) * _rect(mx - 8, my - 1.2, mx + 8, my + 6)                       # open mouth
    teeth = _rect(mx - 4.8, my - 1.2, mx + 4.8, my + 0.9)
    straight = _rect(mx - 4.5, my - 0.2, mx + 4.5, my + 1.4)
    _paint(img, grin * _each(smile) + straight * _each(1 - smile), lips)
    _paint(img, grin * _ellipse(mx, my + 1, 4.5, 2.6) * _each(smile), lips * 0.35)                       # mouth inside
    _paint(img, teeth * grin * _each(smile), white)                                                        # teeth

    attributes = {"smile": smile, "glasses": glasses, "long_hair": long_hair, "yaw": yaw,
                  "hair_color": hair_colour.float(), "skin_tone": skin_tone.float()}
    return _finish(img, gen), attributes, {}


# ---- objects10: a stand-in for CIFAR-10 ----------------------------------------------------------------------------
def _regular_polygon(u: Tensor, v: Tensor, sides: int, apothem: float) -> Tensor:
    """Signed distance (in shape units) to a regular polygon with one vertex pointing up: min over half-planes."""
    angles = [math.pi / 2 + math.pi / sides + 2 * math.pi * k / sides for k in range(sides)]
    return torch.stack([apothem - (u * math.cos(a) - v * math.sin(a)) for a in angles]).amin(0)


def _star(u: Tensor, v: Tensor, outer: float = 1.0, inner: float = 0.45) -> Tensor:
    """Five-pointed star: fold the angle into one spike, then a half-plane test against the spike's edge."""
    sector = 2 * math.pi / 5
    phi = torch.atan2(u, -v)                                     # 0 at the top tip
    phi = ((phi + sector / 2) % sector - sector / 2).abs()
    rho = (u * u + v * v).sqrt()
    px, py = rho * torch.cos(phi), rho * torch.sin(phi)
    ax, ay = outer, 0.0                                          # tip
    bx, by = inner * math.cos(sector / 2), inner * math.sin(sector / 2)   # inner corner
    ex, ey = bx - ax, by - ay
    length = math.hypot(ex, ey)
    return ((px - ax) * ey - (py - ay) * ex) / length         # positive on the centre's side of the edge


def _shape_distance(label: int, u: Tensor, v: Tensor) -> Tensor:
    """Signed distance (shape units, circumradius about 1, positive inside) of class `label` at local coords u, v."""
    rho = (u * u + v * v).sqrt()
    name = OBJECT_CLASSES[label]
    if name == "circle":
        return 0.9 - rho
    if name == "square":
        return 0.72 - torch.maximum(u.abs(), v.abs())
    if name == "triangle":
        return _regular_polygon(u, v + 0.15, 3, 0.5)
    if name == "star":
        return _star(u, v)
    if name == "cross":
        bar = lambda along, across: torch.minimum(0.95 - along.abs(), 0.3 - across.abs())     # noqa: E731
        return torch.maximum(bar(u, v), bar(v, u))
    if name == "ring":
        return torch.minimum(0.95 - rho, rho - 0.55)
    if name == "diamond":
        w, h = 0.55, 1.0
        return (w * h - (u.abs() * h + v.abs() * w)) / math.hypot(w, h)
    if name == "hexagon":
        return _regular_polygon(u, v, 6, 0.8)
    if name == "crescent":
        return torch.minimum(0.95 - rho, ((u - 0.45) ** 2 + (v + 0.15) ** 2).sqrt() - 0.75)
    if name == "arrow":
        shaft = torch.minimum(torch.minimum(u + 0.95, 0.15 - u), 0.22 - v.abs())
        head = torch.minimum(u - 0.1, (0.6 * (1.0 - u) - 0.9 * v.abs()) / math.hypot(0.6, 0.9))
        return torch.maximum(shaft, head)
    raise AssertionError(name)


def draw_objects(count: int, gen: torch.Generator,
                 labels: Tensor) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """Draw one object of class `labels[i]` per image over textured, cluttered backgrounds."""
    uniform = partial(_uniform, gen, count)
    # Background: a two-colour gradient in a random direction, stripes and noise.
    c0, c1 = torch.rand(count, 3, generator=gen), torch.rand(count, 3, generator=gen)
    angle = uniform(0, 2 * math.pi)
    t = ((torch.cos(_each(angle)) * (_XS - 32) + torch.sin(_each(angle)) * (_YS - 32)) / 45 + 0.5).clamp(0, 1)
    img = c0[:, :, None, None] + (c1 - c0)[:, :, None, None] * t[:, None]
    stripe_angle, freq = uniform(0, math.pi), uniform(0.2, 0.9)
    stripes = torch.sin(_each(freq) * (torch.cos(_each(stripe_angle)) * _XS + torch.sin(_each(stripe_angle)) * _YS)
                        + _each(uniform(0, 2 * math.pi)))
    stripe_colour = torch.rand(count, 3, generator=gen) - 0.5
    img = img + (_each(uniform(0, 0.35)) * stripes)[:, None] * stripe_colour[:, :, None, None]
    img = img + _each(uniform(0, 0.08))[:, None] * torch.randn(img.shape, generator=gen)

    # Distractors: small blobs and thin lines in random colours.
    for _ in range(4):
        r = uniform(1.5, 4)
        blob = _ellipse(uniform(0, 64), uniform(0, 64), r, r * uniform(0.5, 1.5))
        _paint(img, blob * _each(_bernoulli(gen, count, 0.8)),
               torch.rand(count, 3, generator=gen))
    for _ in range(2):
        x, y, a, length = uniform(0, 64), uniform(0, 64), uniform(0, math.pi), uniform(6, 16)
        along = torch.cos(_each(a)) * (_XS + 0.5 - _each(x)) + torch.sin(_each(a)) * (_YS + 0.5 - _each(y))
        across = -torch.sin(_each(a)) * (_XS + 0.5 - _each(x)) + torch.cos(_each(a)) * (_YS + 0.5 - _each(y))
        line = _soft(torch.minimum(_each(length) / 2 - along.abs(), 0.7 - across.abs()))
        _paint(img, line * _each(_bernoulli(gen, count, 0.7)), torch.rand(count, 3, generator=gen))

    # The object: random size, position, rotation and a colour that contrasts with the local background.
    radius = uniform(11, 22)
    cx, cy = radius + 2 + uniform(0, 1) * (60 - 2 * radius), radius + 2 + uniform(0, 1) * (60 - 2 * radius)
    rot = uniform(0, 2 * math.pi)
    dx, dy = _XS + 0.5 - _each(cx), _YS + 0.5 - _each(cy)
    uu = (torch.cos(_each(rot)) * dx + torch.sin(_each(rot)) * dy) / _each(radius)
    vv = (-torch.sin(_each(rot)) * dx + torch.cos(_each(rot)) * dy) / _each(radius)
    distance = torch.empty(count, CANVAS, CANVAS)
    for k in range(len(OBJECT_CLASSES)):
        rows = (labels == k).nonzero().squeeze(1)
        if len(rows):
            distance[rows] = _shape_distance(k, uu[rows], vv[rows])
    mask = _soft(distance * _each(radius))
    colour = torch.rand(count, 3, generator=gen)
    local = (img * mask[:, None]).sum((2, 3)) / mask.sum((1, 2)).clamp(min=1)[:, None]
    luma = torch.tensor([0.299, 0.587, 0.114])
    flip = ((colour - local) @ luma).abs() < 0.3
    colour = torch.where(flip[:, None], ((local @ luma < 0.5).float()[:, None] * 0.7 + 0.3 * colour), colour)
    shading = 1 + 0.15 * (uu * _each(uniform(-1, 1)) + vv * _each(uniform(-1, 1))).clamp(-1, 1)
    img.lerp_(colour[:, :, None, None] * shading[:, None], mask[:, None])
    boxes = {"object": torch.stack([cx - radius, cy - radius, cx + radius, cy + radius], dim=1)[:, None]}
    return _finish(img, gen, noise=(0.01, 0.04)), {}, boxes
