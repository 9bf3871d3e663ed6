"""Tests of utils.synthetic.make_shape_scenes: captions match the pixels, seeds, the hold-out, bad input."""

import pytest
import torch

from utils.synthetic import SCENE_COLOURS, SCENE_SHAPES, make_shape_scenes

HELD_OUT = [("red", "circle"), ("green", "square"), ("blue", "triangle")]


def object_pixels(image, box):
    x1, y1, x2, y2 = box
    return image[:, y1:y2, x1:x2]


def test_shapes_dtype_and_range():
    images, captions, scenes = make_shape_scenes(50, image_size=32, generator=0)
    assert images.shape == (50, 3, 32, 32) and images.dtype == torch.float32
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    assert len(captions) == len(scenes) == 50


def test_captions_match_the_drawn_scene():
    images, captions, scenes = make_shape_scenes(300, image_size=32, generator=1)
    for image, caption, scene in zip(images, captions, scenes):
        first, second = scene["objects"]
        assert caption == (f"a {first['size']} {first['colour']} {first['shape']} {scene['relation']} "
                           f"a {second['size']} {second['colour']} {second['shape']}")
        (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = first["box"], second["box"]
        if scene["relation"] == "left of":
            assert ax2 <= bx1 and min(ay2, by2) > max(ay1, by1)      # left, and overlapping rows
        else:
            assert ay2 <= by1 and min(ax2, bx2) > max(ax1, bx1)      # above, and overlapping columns
        covered = torch.zeros(image.shape[1:], dtype=torch.bool)
        for obj in scene["objects"]:
            x1, y1, x2, y2 = obj["box"]
            side = x2 - x1
            assert y2 - y1 == side and 0 <= x1 and x2 <= 32 and 0 <= y1 and y2 <= 32
            assert (side >= 13) == (obj["size"] == "large")
            patch = object_pixels(image, obj["box"])
            ink = patch.amax(dim=0) > 0
            colour = torch.tensor(SCENE_COLOURS[obj["colour"]])
            assert torch.allclose(patch[:, ink].T, colour.expand(int(ink.sum()), 3))   # exactly its colour
            fill = ink.float().mean().item()
            expected = {"square": (0.99, 1.0), "circle": (0.6, 0.9), "triangle": (0.35, 0.65)}[obj["shape"]]
            assert expected[0] <= fill <= expected[1], (obj, fill)
            if obj["shape"] == "triangle":     # widest at the bottom, narrow at the top
                assert ink[-1].sum() > ink[1].sum()
            covered[y1:y2, x1:x2] = True
        assert float(image[:, ~covered].abs().sum()) == 0.0     # nothing drawn outside the two boxes


def test_same_seed_same_scenes_and_generator_advances():
    a = make_shape_scenes(20, generator=5)
    b = make_shape_scenes(20, generator=5)
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    generator = torch.Generator().manual_seed(5)
    c = make_shape_scenes(20, generator=generator)
    d = make_shape_scenes(20, generator=generator)
    assert torch.equal(a[0], c[0]) and c[1] != d[1]
    assert make_shape_scenes(20, generator=6)[1] != a[1]


def test_exclude_really_excludes_the_held_out_pairs():
    _, captions, scenes = make_shape_scenes(2000, exclude=HELD_OUT, generator=0)
    pairs = {(o["colour"], o["shape"]) for s in scenes for o in s["objects"]}
    assert not pairs & set(HELD_OUT)
    assert len(pairs) == len(SCENE_COLOURS) * len(SCENE_SHAPES) - len(HELD_OUT)   # every other pair appears
    for colour, shape in HELD_OUT:
        assert f"{colour} {shape}" not in " ".join(captions)


def test_require_puts_a_held_out_pair_in_every_scene():
    _, captions, scenes = make_shape_scenes(500, require=HELD_OUT, generator=0)
    for caption, scene in zip(captions, scenes):
        assert any((o["colour"], o["shape"]) in HELD_OUT for o in scene["objects"])
        assert any(f"{c} {s}" in caption for c, s in HELD_OUT)
    both = {(o["colour"], o["shape"]) for s in scenes for o in s["objects"]}
    assert set(HELD_OUT) <= both


def test_other_image_sizes():
    images, _, scenes = make_shape_scenes(10, image_size=48, generator=0)
    assert images.shape == (10, 3, 48, 48)
    assert all(o["box"][2] <= 48 and o["box"][3] <= 48 for s in scenes for o in s["objects"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_scenes=0), "num_scenes"),
    (dict(num_scenes=2.5), "num_scenes"),
    (dict(num_scenes=5, image_size=8), "image_size"),
    (dict(num_scenes=5, exclude=[("purple", "circle")]), "unknown colour"),
    (dict(num_scenes=5, exclude=[("red", "hexagon")]), "unknown shape"),
    (dict(num_scenes=5, exclude=["red circle"]), "pairs"),
    (dict(num_scenes=5, exclude=[("red", "circle")], require=[("red", "circle")]), "both excluded and required"),
    (dict(num_scenes=5, exclude=[(c, s) for c in SCENE_COLOURS for s in SCENE_SHAPES]), "no \\(colour, shape\\)"),
    (dict(num_scenes=5, generator=-1), "seed"),
])
def test_bad_input_gets_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_shape_scenes(**kwargs)


def test_bad_types_get_a_clear_error():
    with pytest.raises(TypeError, match="pairs"):
        make_shape_scenes(5, exclude="red circle")
    with pytest.raises(TypeError, match="generator"):
        make_shape_scenes(5, generator="0")
