#!/usr/bin/env python3
"""Which lesions a segmentation finds, by kind (the table of docs/experiments.md, session 14).

Usage: python3 scripts/lesion_kinds.py TRUTH_DIR PRED_DIR [TRUTH_DIR PRED_DIR ...]
(needs nibabel, numpy, scipy). Each PRED_DIR holds segmentation-N.nii.gz files; TRUTH_DIR holds
the LiTS-layout volume-N.nii.gz and segmentation-N.nii.gz of the same cases.

Lesions are the 26-connected components of label 2 in the truth. A lesion is "found" when any of
its voxels is labelled 2 in the prediction. Kinds, first match wins: tiny (under 100 voxels),
faint (mean HU less than 15 below the median of the case's liver), cut (over 5 % of its voxels
labelled background, i.e. outside the predicted liver), other.
"""
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi


def kind(size, contrast, outside):
    if size < 100:
        return "tiny"
    if contrast < 15:
        return "faint"
    return "cut" if outside > 0.05 else "other"


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    shares = {}
    for truth_dir, pred_dir in zip(args[::2], args[1::2]):
        for pred_path in sorted(Path(pred_dir).glob("segmentation-*.nii*")):
            truth_path = Path(truth_dir) / pred_path.name
            t = np.asarray(nib.load(str(truth_path)).dataobj)
            p = np.asarray(nib.load(str(pred_path)).dataobj)
            v = np.asarray(nib.load(str(truth_path).replace("segmentation-", "volume-")).dataobj, dtype=np.float32)
            if t.shape != p.shape:
                sys.exit(f"{pred_path}: shape {p.shape} differs from the truth's {t.shape}")
            lesions, n = ndi.label(t == 2, np.ones((3, 3, 3)))
            liver = np.median(v[t == 1]) if (t == 1).any() else 0.0
            for i in range(1, n + 1):
                m = lesions == i
                k = kind(m.sum(), liver - v[m].mean(), (p[m] == 0).mean())
                shares.setdefault(k, []).append((p[m] == 2).mean())
    print(f"{'kind':6} {'lesions':>7} {'found':>5} {'share labelled':>14}")
    for k in ("tiny", "faint", "cut", "other"):
        h = np.array(shares.get(k, []))
        if h.size:
            print(f"{k:6} {h.size:7d} {int((h > 0).sum()):5d} {h.mean():14.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
