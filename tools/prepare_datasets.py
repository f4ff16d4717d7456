#!/usr/bin/env python3
"""Builds the shipped datasets from openly licensed files in the package registries.

    # inputs (no network at run time; these come from the registries once):
    pip download --no-deps scikit-image==0.26.0 -d /tmp/assets
    (cd /tmp/assets && apt-get download opencv-doc gcompris-qt-data && for d in *.deb; do dpkg-deb -x $d x; done)
    python3 tools/prepare_datasets.py /tmp/assets

Writes (every file's origin and licence in datasets/SOURCES.md):
  datasets/style/            content photos and paintings for style transfer (longest side <= 512)
  datasets/photo2ukiyoe/     CycleGAN: trainA/testA photo crops, trainB/testB ukiyo-e crops (128 px)
  datasets/edges-src/        the photos that `aiart dataset prepare edges` turns into datasets/edges2photo:
                             aiart dataset prepare edges --photos datasets/edges-src --out datasets/edges2photo
                             aiart dataset prepare split datasets/edges2photo --test 0.1 --seed 1
Needs Pillow. Paintings cut into jigsaw pieces in GCompris are reassembled from the piece centres
given in its board files.
"""
import glob
import os
import random
import re
import sys
import zipfile

from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from rcc_extract import entries  # noqa: E402

SRC = sys.argv[1] if len(sys.argv) > 1 else "/tmp/assets"
ROOT = os.path.join(os.path.dirname(__file__), "..", "datasets")
RCC = os.path.join(SRC, "x/usr/share/gcompris-qt/rcc")
random.seed(7)
sources = []  # (file, what, from, licence)


def save(im, path, longest=512, what="", origin="", licence=""):
    im = im.convert("RGB")
    s = longest / max(im.size)
    if s < 1:
        im = im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im.save(path, quality=88)
    sources.append((os.path.relpath(path, ROOT), what, origin, licence))
    return im


def bundle(name):
    return dict(entries(open(os.path.join(RCC, f"{name}.rcc"), "rb").read()))


def readme_licence(files, readme_path, image_name):
    """The licence line of the README block that lists image_name."""
    text = files[readme_path].decode("utf-8", "replace")
    for block in re.split(r"\n(?=Copyright:|Files?:)", text):
        if image_name in block:
            m = re.search(r"License:\s*(.+)", block)
            return m.group(1).strip() if m else "see the GCompris README"
    m = re.search(r"License:\s*(.+)", text)
    return m.group(1).strip() if m else "see the GCompris README"


# --- paintings reassembled from GCompris' jigsaw boards
paint = bundle("paintings")
base = "/gcompris/src/activities/paintings/resource"


def reassemble(board_no):
    qml = paint[f"{base}/board/board{board_no}_0.qml"].decode()
    title = re.search(r'qsTr\("([^"]+)"\)', qml).group(1)
    w = int(re.search(r'"width":\s*(\d+)', qml).group(1))
    h = int(re.search(r'"height":\s*(\d+)', qml).group(1))
    canvas = Image.new("RGBA", (w, h), (255, 255, 255, 255))
    for f, x, y in re.findall(r'"pixmapfile"\s*:\s*"(image/[^"]+\.webp)",\s*"x"\s*:\s*"([\d.]+)",\s*"y"\s*:\s*"([\d.]+)"', qml):
        piece = Image.open(__import__("io").BytesIO(paint[f"{base}/{f}"])).convert("RGBA")
        cx, cy = float(x) * w, float(y) * h
        canvas.alpha_composite(piece, (round(cx - piece.width / 2), round(cy - piece.height / 2)))
    return title, canvas.convert("RGB")


boards = {}
for k in range(1, 23):
    if f"{base}/board/board{k}_0.qml" in paint:
        title, img = reassemble(k)
        boards[k] = (title, img)

PAINT_LICENCE = "public domain (the painting); GCompris ships the scan under GPL-3.0-or-later (WebMuseum)"
wanted = {"Great Wave": "great_wave.jpg", "Kandinsky": "kandinsky.jpg", "Harvesters": "bruegel_harvesters.jpg"}
ukiyoe = []
for k, (title, img) in sorted(boards.items()):
    low = title.lower()
    for key, fname in wanted.items():
        if key.lower() in low:
            save(img, f"{ROOT}/style/{fname}", what=title, origin=f"gcompris-qt-data 3.1 (Debian), paintings.rcc board {k}, reassembled", licence=PAINT_LICENCE)
    if "hokusai" in low or "hiroshige" in low:
        ukiyoe.append((title, img, k))

# --- complete Van Gogh paintings from details.rcc
det = bundle("details")
dbase = "/gcompris/src/activities/details/resource/image"
vangogh = []
for path, raw in sorted(det.items()):
    name = os.path.basename(path)
    if path.startswith(dbase) and name.endswith(".webp") and not re.search(r"_c_\d+\.webp$|_\d+\.webp$", name):
        img = Image.open(__import__("io").BytesIO(raw))
        if min(img.size) >= 200 and "gogh" in name.lower() or "Gogh" in name:
            vangogh.append((name, img))
for name, img in vangogh[:4]:
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower().rsplit(".", 1)[0]).strip("_")
    save(img, f"{ROOT}/style/{stem}.jpg", what=f"Vincent van Gogh, {name}", origin="gcompris-qt-data 3.1 (Debian), details.rcc",
         licence=readme_licence(det, f"{dbase}/README", name))

# --- photos: scikit-image (CC0 / public domain) and GCompris' monuments and animals
wheel = glob.glob(os.path.join(SRC, "scikit_image-*.whl"))[0]
photos = []
with zipfile.ZipFile(wheel) as z:
    for name, lic in [("chelsea.png", "CC0"), ("astronaut.png", "public domain (NASA)"), ("coffee.png", "CC0"),
                      ("rocket.jpg", "public domain (NASA)"), ("motorcycle_left.png", "CC0 (Middlebury stereo)")]:
        with z.open(f"skimage/data/{name}") as f:
            img = Image.open(f).convert("RGB")
            stem = name.rsplit(".", 1)[0]
            save(img, f"{ROOT}/style/{stem}.jpg", what=f"scikit-image sample {name}", origin="scikit-image 0.26.0 wheel (PyPI)", licence=lic)
            photos.append((stem, img, "scikit-image 0.26.0 wheel (PyPI)", lic))

for bname, sub in [("explore_monuments", "explore_monuments/resource"), ("explore_world_animals", "explore_world_animals/resource/animals")]:
    files = bundle(bname)
    readme = f"/gcompris/src/activities/{sub}/README"
    for path, raw in sorted(files.items()):
        if not path.startswith(f"/gcompris/src/activities/{sub}/") or not re.search(r"\.(webp|jpg|png)$", path):
            continue
        img = Image.open(__import__("io").BytesIO(raw))
        if min(img.size) < 200:
            continue
        lic = readme_licence(files, readme, os.path.basename(path)) if readme in files else "see GCompris README"
        photos.append((os.path.basename(path).rsplit(".", 1)[0], img.convert("RGB"), f"gcompris-qt-data 3.1 (Debian), {bname}.rcc", lic))


# --- CycleGAN: photos <-> ukiyo-e, random 128-px crops of images first resized to 256 px
def crops(img, n, size=128, scale=256):
    s = scale / min(img.size)
    img = img.resize((max(size, round(img.width * s)), max(size, round(img.height * s))), Image.LANCZOS)
    out = []
    for _ in range(n):
        x = random.randint(0, img.width - size)
        y = random.randint(0, img.height - size)
        out.append(img.crop((x, y, x + size, y + size)))
    return out


def write_domain(items, split_dir, per_image, test_every):
    count = {"train": 0, "test": 0}
    for i, (stem, img, origin, lic, what) in enumerate(items):
        split = "test" if i % test_every == test_every - 1 else "train"
        for j, c in enumerate(crops(img, per_image)):
            save(c, f"{ROOT}/photo2ukiyoe/{split}{split_dir}/{stem}_{j}.jpg", longest=128, what=f"crop of {what}", origin=origin, licence=lic)
            count[split] += 1
    return count


photo_items = [(re.sub(r"[^a-z0-9]+", "_", s.lower()), im, o, l, s) for s, im, o, l in photos]
art_items = [(re.sub(r"[^a-z0-9]+", "_", t.lower())[:40], im, f"gcompris-qt-data 3.1 (Debian), paintings.rcc board {k}, reassembled", PAINT_LICENCE, t)
             for t, im, k in ukiyoe]
print("A", write_domain(photo_items, "A", 3, 8))
print("B", write_domain(art_items, "B", 10, 6))

# --- the photos that become the edges -> photo set (aiart dataset prepare edges)
for stem, im, origin, lic, what in photo_items:
    for j, c in enumerate(crops(im, 2, size=128, scale=160)):
        save(c, f"{ROOT}/edges-src/{stem}_{j}.jpg", longest=128, what=f"crop of {what}", origin=origin, licence=lic)

with open(f"{ROOT}/SOURCES.md", "w") as f:
    f.write("# Shipped datasets: sources and licences\n\nMade by `tools/prepare_datasets.py` from packages of the registries "
            "(PyPI, Debian); nothing was downloaded from elsewhere.\n\n| file | what | from | licence |\n| --- | --- | --- | --- |\n")
    for file, what, origin, lic in sorted(sources):
        f.write(f"| `{file}` | {what} | {origin} | {lic} |\n")
print(len(sources), "files")
