#!/usr/bin/env python3
"""Extracts files from a Qt binary resource bundle (.rcc, the "qres" layout, versions 1–3), as found in
Debian's gcompris-qt-data. Entries may be stored raw or zlib-compressed (qCompress: 4-byte size + zlib).

    python3 tools/rcc_extract.py BUNDLE.rcc OUTDIR [SUBSTRING]
"""
import os
import struct
import sys
import zlib


def entries(blob):
    assert blob[:4] == b"qres", "not a qres bundle"
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    size = 14 if version == 1 else 22

    def name(off):
        n = struct.unpack(">H", blob[names + off:names + off + 2])[0]
        return blob[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(node, prefix):
        base = tree + node * size
        name_off, flags = struct.unpack(">IH", blob[base:base + 6])
        nm = name(name_off) if node else ""
        path = f"{prefix}/{nm}" if nm else prefix
        if flags & 2:  # directory
            count, first = struct.unpack(">II", blob[base + 6:base + 14])
            for c in range(first, first + count):
                yield from walk(c, path)
        else:
            off = struct.unpack(">I", blob[base + 10:base + 14])[0]
            n = struct.unpack(">I", blob[data + off:data + off + 4])[0]
            raw = blob[data + off + 4:data + off + 4 + n]
            if flags & 1:
                raw = zlib.decompress(raw[4:])
            elif flags & 4:
                raise ValueError(f"{path}: zstd-compressed entries are not supported")
            yield path, raw

    yield from walk(0, "")


if __name__ == "__main__":
    blob = open(sys.argv[1], "rb").read()
    out, pat = sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
    for path, raw in entries(blob):
        if pat in path:
            dst = os.path.join(out, path.lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, "wb").write(raw)
            print(path, len(raw))
