#!/usr/bin/env python3
"""Writes Tests/PhantomTests/NibabelFixture.swift: what nibabel reads from a tiny synth dataset.

    liverseg synth --out /tmp/fx --cases 2 --seed 105 --size 48 --slices 8 --tumors 2
    python3 scripts/phantom_nibabel_fixture.py /tmp/fx

The Swift test regenerates the same cases, writes them with the Swift NIfTI writer, and compares
its own reading and the generator's report with these nibabel values (the PhantomTests target has
no resource folder, so the JSON is embedded in a Swift source file).
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

d = Path(sys.argv[1])
cases = []
for i in (0, 1):
    vol = nib.load(str(d / f"volume-{i}.nii.gz"))
    seg = nib.load(str(d / f"segmentation-{i}.nii.gz"))
    hu = np.asarray(vol.dataobj, dtype=np.float64)
    lab = np.asarray(seg.dataobj)
    cases.append({
        "index": i,
        "shape": list(map(int, vol.shape)),
        "affine": [float(x) for x in vol.affine.reshape(-1)],
        "zooms": [float(z) for z in vol.header.get_zooms()],
        "axcodes": "".join(nib.aff2axcodes(vol.affine)),
        "dtype": str(vol.get_data_dtype()),
        "slope": float(vol.dataobj.slope),
        "inter": float(vol.dataobj.inter),
        "labelDtype": str(seg.get_data_dtype()),
        "labelCounts": [int((lab == k).sum()) for k in range(3)],
        "meanHU": [float(hu[lab == k].mean()) if (lab == k).any() else 0.0 for k in range(3)],
        "minHU": float(hu.min()),
        "maxHU": float(hu.max()),
    })
text = json.dumps({"nibabel": nib.__version__, "seed": 105, "size": 48, "slices": 8, "tumors": 2, "cases": cases}, indent=1)
out = Path(__file__).resolve().parent.parent / "Tests/PhantomTests/NibabelFixture.swift"
out.write_text("// Written by scripts/phantom_nibabel_fixture.py from nibabel's reading of a synth dataset; do not edit.\n"
               "let nibabelFixtureJSON = #\"\"\"\n" + text + "\n\"\"\"#\n")
print("wrote", out)
