"""A user's folder as people have it (dcgan_lib.data.folders): flat, nested, junk among the pictures, every mode."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib.data import load_dataset
from dcgan_lib.data.decode_once import source_fingerprint
from dcgan_lib.data.folders import open_image, scan_folder
from dcgan_lib.data.imagedata import DatasetError
from dcgan_lib.data.real import folder_split


def _photo(path, colour=(200, 30, 30), size=(48, 40), mode="RGB", **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, **save)
    return path


def test_a_flat_folder_of_photos_is_one_class_and_trains(tmp_path, capsys):
    for i in range(3):
        _photo(tmp_path / "camera" / f"IMG_{i:04d}.JPG", (60 * i, 30, 30))
    ds = load_dataset("folder", 32, data_dir=tmp_path / "camera")
    assert len(ds) == 2 and ds[0][0].shape == (3, 32, 32) and {ds[i][1] for i in range(2)} == {0}
    out = capsys.readouterr().out
    assert "2 images, one class (a flat folder)" in out and "1 of 3 images (about 10%, chosen by file name)" in out


def test_a_folder_without_test_holds_a_tenth_out_by_name_the_same_every_time(tmp_path):
    camera = tmp_path / "camera"
    for i in range(40):
        _photo(camera / f"IMG_{i:04d}.JPG", (6 * i, 30, 30))
    scans = {split: folder_split(camera, split) for split in ("train", "test")}
    train, test = ({p.name for p in scans[s].paths} for s in ("train", "test"))
    assert not train & test and len(train | test) == 40 and 2 <= len(test) <= 8      # a tenth, give or take
    assert len(load_dataset("folder", 32, split="test", data_dir=camera)) == len(test)
    _photo(camera / "IMG_9999.JPG")                                  # a photo added later moves no other one
    assert {p.name for p in folder_split(camera, "test").paths} - {"IMG_9999.JPG"} == test
    assert folder_split(camera, "train").paths[:3] == scans["train"].paths[:3]


def test_nested_folders_junk_and_a_link_loop_are_walked_once_and_the_junk_is_counted(tmp_path):
    root = tmp_path / "photos"
    _photo(root / "cats" / "2019" / "summer" / "a.png")
    _photo(root / "dogs" / "b.jpg", (20, 40, 220))
    _photo(root / "c.png")                                          # one lying at the top
    (root / "dogs" / "notes.txt").write_text("not a picture")
    (root / "dogs" / "._b.jpg").write_bytes(b"\0\5\26\7")           # macOS metadata
    (root / "__MACOSX" / "dogs").mkdir(parents=True)
    _photo(root / "__MACOSX" / "dogs" / "b.jpg")
    (root / ".DS_Store").write_bytes(b"\0")
    os.symlink(root, root / "cats" / "loop")                        # a link back to the root
    scan = scan_folder(root)
    assert [p.name for p in scan.paths] == ["c.png", "a.png", "b.jpg"]   # walked from the top down
    assert scan.classes == ["cats", "dogs", "photos"] and scan.labels == [2, 0, 1]
    assert scan.skipped == {"files that are not images": 1, "macOS metadata files": 1,
                            "hidden or system files": 1, "folders reached twice through a link": 1,
                            "hidden or system folders (their files are not read)": 1}   # __MACOSX
    assert "files that are not images: 1 (e.g." in scan.note() and "skipped" in scan.note()


def test_every_image_mode_is_decoded_right(tmp_path):
    grey16 = tmp_path / "grey16.png"
    Image.fromarray(np.full((40, 48), 32768, dtype=np.uint16)).save(grey16)   # mid-grey in 16 bits
    assert Image.open(grey16).mode.startswith("I")
    assert abs(np.asarray(open_image(grey16)).mean() - 128) < 2             # not clipped to white
    cmyk = _photo(tmp_path / "cmyk.jpg", (255, 0, 0, 0), mode="CMYK")      # pure cyan ink: red is gone
    r, g, b = np.asarray(open_image(cmyk)).reshape(-1, 3).mean(0)
    assert r < 30 and g > 200 and b > 200
    clear = _photo(tmp_path / "clear.png", (255, 0, 0, 0), mode="RGBA")       # transparent: white, not red
    assert np.asarray(open_image(clear)).min() == 255
    palette = Image.new("P", (48, 40), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.save(tmp_path / "palette.png")
    assert tuple(np.asarray(open_image(tmp_path / "palette.png"))[0, 0]) == (10, 200, 30)
    frames = [Image.new("RGB", (48, 40), c) for c in ((250, 0, 0), (0, 0, 250))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert np.asarray(open_image(tmp_path / "anim.gif"))[..., 0].mean() > 200   # the first frame
    ds = load_dataset("folder", 32, data_dir=tmp_path)
    assert len(ds) == 5 and all(torch.isfinite(ds[i][0]).all() for i in range(5))


def test_a_folder_without_images_or_that_does_not_exist_is_refused_with_what_was_found(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="no images found.*skipped files that are not images: 1"):
        load_dataset("folder", 32, data_dir=tmp_path / "docs")
    with pytest.raises(DatasetError, match="does not exist.*--data <folder>"):
        load_dataset("folder", 32, data_dir=tmp_path / "absent")
    with pytest.raises(DatasetError, match="is a file"):
        load_dataset("folder", 32, data_dir=tmp_path / "docs" / "readme.txt")


def test_the_fingerprint_sees_an_image_added_deep_down_with_its_folders_times_restored(tmp_path):
    root = tmp_path / "photos"
    _photo(root / "a" / "b" / "c" / "one.png")
    before = source_fingerprint(root)
    folder = root / "a" / "b" / "c"
    times = (folder.stat().st_atime, folder.stat().st_mtime)
    _photo(folder / "two.png")
    os.utime(folder, times)                                          # as tar and rsync -t leave it
    assert source_fingerprint(root) != before


def test_32_bit_integer_images_are_scaled_not_white(tmp_path):
    values = (np.arange(64 * 64).reshape(64, 64) * 500_000).astype(np.int32)   # up to 2e9, as scanners write
    Image.fromarray(values, mode="I").save(tmp_path / "scan.tif")
    grey = np.asarray(open_image(tmp_path / "scan.tif"))
    assert 100 < grey.mean() < 150 and grey.std() > 50


def test_an_unreadable_folder_and_heic_photos_are_counted_not_dropped(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    _photo(root / "ok" / "a.png")
    (root / "phone").mkdir()
    (root / "phone" / "IMG_0001.HEIC").write_bytes(b"\0" * 10)
    real_scandir = os.scandir

    def locked(path):                                               # as chmod 000 does, even for root
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    (root / "locked").mkdir()
    monkeypatch.setattr(os, "scandir", locked)
    scan = scan_folder(root)
    assert scan.skipped["folders that could not be read (permissions?)"] == 1
    assert scan.examples["folders that could not be read (permissions?)"].endswith("locked")
    assert any(reason.startswith("HEIC photos") for reason in scan.skipped) and len(scan.paths) == 1


def test_a_portrait_phone_photo_is_read_upright_and_a_colour_key_lies_on_white(tmp_path):
    """EXIF orientation 6 (a portrait photo stored landscape) is applied, as every viewer does; an L or RGB PNG
    whose transparency is a colour key (tRNS) is laid on white, like any other transparency."""
    photo = Image.new("RGB", (64, 48), (0, 0, 255))
    photo.paste((255, 0, 0), (0, 0, 64, 8))                       # red along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = 6                                              # rotate 90° clockwise to view
    photo.save(tmp_path / "portrait.jpg", exif=exif, quality=95)
    upright = np.asarray(open_image(tmp_path / "portrait.jpg"))
    assert upright.shape == (64, 48, 3) and upright[32, -2, 0] > 200 and upright[32, 2, 2] > 200  # red on the right
    for mode, key in (("L", 0), ("RGB", (0, 0, 0))):
        icon = Image.new(mode, (40, 40), key)
        icon.save(tmp_path / f"icon_{mode}.png", transparency=key)
        assert np.asarray(open_image(tmp_path / f"icon_{mode}.png")).min() == 255, mode


def test_split_folders_in_any_case_and_their_usual_names_are_never_trained_on(tmp_path):
    for train, test in (("Train", "Test"), ("training", "testing"), ("TRAIN", "validation")):
        root = tmp_path / f"{train}-{test}"
        _photo(root / train / "cats" / "a.png")
        _photo(root / test / "cats" / "held.png")
        trained = folder_split(root, "train")
        assert [p.name for p in trained.paths] == ["a.png"] and trained.classes == ["cats"], (train, test)
        assert [p.name for p in folder_split(root, "test").paths] == ["held.png"]


def test_hidden_folders_are_counted_and_any_file_name_bytes_are_split(tmp_path):
    for i in range(12):
        _photo(tmp_path / "album" / f"IMG_{i}.png")
        _photo(tmp_path / "album" / ".thumbnails" / f"t{i}.png")
    scan = scan_folder(tmp_path / "album")
    assert len(scan.paths) == 12 and "hidden or system folders" in scan.note()
    odd = os.fsdecode(b"caf\xe9.png")                             # a Latin-1 name from an old camera or zip
    _photo(tmp_path / "album" / odd)
    assert len(folder_split(tmp_path / "album", "train").paths) + len(folder_split(tmp_path / "album", "test").paths) \
        == 13


def test_the_fingerprint_follows_a_linked_album_as_the_scan_does(tmp_path):
    shared = tmp_path / "shared_album"
    _photo(shared / "a.png")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "shared").symlink_to(shared, target_is_directory=True)
    (tmp_path / "photos" / "loop").symlink_to(tmp_path / "photos", target_is_directory=True)
    before = source_fingerprint(tmp_path / "photos")
    _photo(shared / "b.png")                                      # added to the album the folder links to
    assert source_fingerprint(tmp_path / "photos") != before


def test_documents_videos_raw_files_archives_and_broken_links_are_skipped_and_named(tmp_path):
    """A PDF, a video, an HDF5 file or an EPS among the photos is skipped and counted, not fatal (PIL registers
    them but cannot read them as pictures here); RAW files, archives and broken links are named for what they are."""
    root = tmp_path / "photos"
    for i in range(12):
        _photo(root / f"IMG_{i}.jpg")
    for name in ("scan_receipt.pdf", "MVI_0001.MPG", "weights.h5", "logo.eps"):
        (root / name).write_bytes(b"%PDF-1.4 or any other bytes")
    (root / "DSC_0001.CR2").write_bytes(b"II*\0raw")
    (root / "photos.zip").write_bytes(b"PK\3\4")
    (root / "USB Photos").symlink_to(tmp_path / "not-mounted")
    scan = scan_folder(root)
    assert len(scan.paths) == 12
    assert scan.skipped["files that are not images"] == 4
    assert any(reason.startswith("camera RAW files") for reason in scan.skipped)
    assert any(reason.startswith("archives") for reason in scan.skipped)
    assert scan.skipped["broken links (a drive not mounted?)"] == 1
    assert len(load_dataset("folder", 32, data_dir=root)) == len(folder_split(root, "train").paths)


def test_a_large_scan_gives_no_decompression_bomb_warning(tmp_path, monkeypatch):
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)          # as if 40×40 were a huge scan
    _photo(tmp_path / "scan.png", size=(40, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_image(tmp_path / "scan.png").size == (40, 40)


def test_a_picture_past_pils_safety_limit_is_named_with_the_fix(tmp_path, monkeypatch):
    from dcgan_lib.data.real import _ImageLoader

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)            # as if 40×40 were a 225-megapixel panorama
    _photo(tmp_path / "panorama.png", size=(40, 40))
    with pytest.raises(DatasetError, match="larger than PIL's safety limit of 0 megapixels: downscale it"):
        _ImageLoader(32)(str(tmp_path / "panorama.png"))


def test_a_file_that_cannot_be_looked_at_and_an_odd_name_do_not_stop_the_scan_or_the_fingerprint(tmp_path,
                                                                                                   monkeypatch):
    from pathlib import Path

    for i in range(3):
        _photo(tmp_path / "album" / f"IMG_{i}.png")
    _photo(tmp_path / "album" / os.fsdecode(b"caf\xe9.png"))      # a Latin-1 name
    assert len(source_fingerprint(tmp_path / "album")) > 8

    def no_search_permission(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_symlink", no_search_permission)   # as in a folder without +x, as root cannot see
    assert len(scan_folder(tmp_path / "album").paths) == 4


def test_a_split_one_folder_down_is_found_and_its_held_out_images_never_trained_on(tmp_path):
    """Probe 3 L01/L02: a Kaggle zip's top folder (dogs-vs-cats/train, dogs-vs-cats/test) and YOLO's
    images/train, images/val beside labels/: the held-out images are held out; two such folders are refused."""
    for split, n in (("train", 6), ("test", 3)):
        for i in range(n):
            _photo(tmp_path / "kaggle" / "dogs-vs-cats" / split / "dogs" / f"{i}.jpg")
            _photo(tmp_path / "yolo" / "images" / ("val" if split == "test" else split) / f"{i}.jpg")
    (tmp_path / "yolo" / "labels").mkdir()
    (tmp_path / "yolo" / "labels" / "0.txt").write_text("0 0.5 0.5 0.2 0.2")
    for root in (tmp_path / "kaggle", tmp_path / "yolo"):
        train, held_out = folder_split(root, "train"), folder_split(root, "test")
        assert len(train.paths) == 6 and len(held_out.paths) == 3
        assert not {p.parent.name for p in train.paths} & {"test", "val"}
    for i in range(2):
        _photo(tmp_path / "kaggle" / "other-set" / "train" / f"{i}.jpg")
        _photo(tmp_path / "kaggle" / "other-set" / "val" / f"{i}.jpg")
    with pytest.raises(DatasetError, match="holds 2 folders with their own train/ .*pass one of them"):
        folder_split(tmp_path / "kaggle", "train")


def test_images_beside_train_and_test_are_counted_and_named(tmp_path):
    """Probe 3 L09: loose images next to train/ and a class folder beside it are not read, and the note says
    how many, with one of them and where to move them."""
    for i in range(4):
        _photo(tmp_path / "set" / "train" / f"{i}.jpg")
        _photo(tmp_path / "set" / "test" / f"{i}.jpg")
        _photo(tmp_path / "set" / f"loose_{i}.jpg")
        _photo(tmp_path / "set" / "more_cats" / f"{i}.jpg")
    scan = folder_split(tmp_path / "set", "train")
    assert len(scan.paths) == 4
    assert "images outside train/ and test/ (move them into train/ to train on them): 8 (e.g." in scan.note()


def test_a_cache_or_a_hidden_folder_inside_the_images_does_not_change_their_fingerprint(tmp_path):
    """Probe 3 E03/E04: a decoded cache (not images) or a hidden folder kept inside the folder of images leaves
    the folder's fingerprint as it was, so nothing is decoded again and again; an image added still changes it."""
    for i in range(3):
        _photo(tmp_path / "photos" / f"{i}.jpg")
    before = source_fingerprint(tmp_path / "photos", images_only=True)
    (tmp_path / "photos" / "cache" / "decoded").mkdir(parents=True)
    (tmp_path / "photos" / "cache" / "decoded" / "images.u8").write_bytes(b"\0" * 64)
    _photo(tmp_path / "photos" / ".dcgan_cache" / "grid.png")
    assert source_fingerprint(tmp_path / "photos", images_only=True) == before
    assert source_fingerprint(tmp_path / "photos") != before        # a real dataset's files all count
    _photo(tmp_path / "photos" / "3.jpg")
    assert source_fingerprint(tmp_path / "photos", images_only=True) != before


def test_a_heic_photo_named_jpg_and_a_thumbnail_at_the_smallest_size_get_the_right_fix(tmp_path):
    """Probe 3 D13/D17: a HEIC file named .jpg is named as HEIC; a thumbnail too small for --size 32 is not told
    to use a smaller size (there is none)."""
    from dcgan_lib.data.real import _ImageLoader

    heic = tmp_path / "IMG_0001.jpg"
    heic.write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 64)
    with pytest.raises(DatasetError, match="is a HEIC photo with another file name ending: convert it"):
        _ImageLoader(32)(str(heic))
    thumb = _photo(tmp_path / "thumb.png", size=(12, 12))
    with pytest.raises(DatasetError, match=r"Remove it\.$"):
        _ImageLoader(32)(str(thumb))


def test_progress_bars_are_off_for_every_usual_spelling_of_no(monkeypatch):
    from dcgan_lib.core.runtime import show_progress

    for word in ("0", "false", "No", "off"):
        monkeypatch.setenv("DCGAN_PROGRESS", word)
        assert not show_progress()
    monkeypatch.setenv("DCGAN_PROGRESS", "1")
    assert show_progress()


def test_a_jpeg_named_heic_is_read_as_the_jpeg_it_is(tmp_path):
    """Probe 3 D12: some phone exports name JPEGs .HEIC: read by their content, not skipped as HEIC photos."""
    for i in range(12):
        _photo(tmp_path / "export" / f"IMG_{i:04d}.jpg", (20 * i, 30, 30)).rename(
            tmp_path / "export" / f"IMG_{i:04d}.HEIC")
    scan = scan_folder(tmp_path / "export")
    assert len(scan.paths) == 12 and not scan.skipped
    assert open_image(scan.paths[3]).getpixel((0, 0))[0] in range(57, 64)


def test_a_folder_of_ten_or_more_always_holds_one_image_out(tmp_path):
    """Probe 3: a folder of 30 images whose name hashes gave no held-out image said '0 of 30 are held out' and had
    no held-out split; it now holds out its image of smallest hash, and keeps holding out the same one."""
    from dcgan_lib.data.folders import held_out_paths

    paths = [tmp_path / f"img_{i}.jpg" for i in range(400)]
    for n in range(10, 40):
        held = held_out_paths(tmp_path, paths[:n])
        assert 1 <= len(held) and held <= set(paths[:n])
        assert held_out_paths(tmp_path, paths[:n]) == held
    assert held_out_paths(tmp_path, paths[:3]) <= set(paths[:3])


def test_a_multi_page_tiff_is_read_from_its_first_page_and_the_note_says_so(tmp_path):
    """Probe 3 D22: a two-page scan trains on its first page (red), and the scan's note names the file."""
    (tmp_path / "scans").mkdir()
    first, second = Image.new("RGB", (40, 40), (200, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 200))
    for i in range(3):
        first.save(tmp_path / "scans" / f"scan_{i}.tif", save_all=True, append_images=[second])
    scan = scan_folder(tmp_path / "scans")
    assert len(scan.paths) == 3 and "read in part multi-page TIFFs (their first page only): 3 (e.g." in scan.note()
    assert open_image(scan.paths[0]).getpixel((5, 5)) == (200, 0, 0)
