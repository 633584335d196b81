#!/usr/bin/env python3
"""Writes a CT-like 512×512×N int16 .nii.gz for the read benchmark (not committed: ~150 MB).

Smooth body and organs plus noise, so it compresses like real CT (about 2–3×), not like pure
noise (incompressible) or zeros (1000×). Uses nibabel's writer (gzip level 6, the usual one).
"""
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
nz = int(sys.argv[2]) if len(sys.argv) > 2 else 500
rng = np.random.default_rng(0)
x, y = np.meshgrid(np.linspace(-1, 1, 512), np.linspace(-1, 1, 512), indexing="ij")
body = (x / 0.85) ** 2 + (y / 0.65) ** 2 < 1
liver = ((x + 0.3) / 0.35) ** 2 + ((y - 0.1) / 0.3) ** 2 < 1
vol = np.empty((512, 512, nz), dtype=np.int16)
for k in range(nz):
    s = np.full((512, 512), -1000.0)
    s[body] = 40
    s[liver] = 60 + 10 * np.sin(k / 30)
    s += rng.normal(0, 12, size=s.shape)
    vol[..., k] = np.round(s).astype(np.int16)
aff = np.diag([-0.7, -0.7, 1.0, 1.0])
img = nib.Nifti1Image(vol, aff)
img.header.set_data_dtype(np.int16)
img.header.set_slope_inter(1, -1024)  # scaled like LiTS-style exports: exercises the scaling path
nib.save(img, out)
print(out)
