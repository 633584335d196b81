#!/usr/bin/env python3
"""How visible each true lesion is, which a segmentation finds, and the per-case tumor Dice a
perfect model that cannot see the faintest would reach (docs/experiments.md, session 27).

Usage: python3 scripts/lesion_visibility.py TRUTH_DIR PRED_DIR [TRUTH_DIR PRED_DIR ...]
(needs nibabel, numpy, scipy). Each PRED_DIR holds segmentation-N.nii.gz files; TRUTH_DIR holds
the LiTS-layout volume-N.nii.gz and segmentation-N.nii.gz of the same cases.

Lesions are the 26-connected components of label 2 in the truth. A lesion's Rose number is
R = |contrast| / sigma * sqrt(area): contrast = the liver's median HU (label 1) minus the
lesion's, area = its largest cross-section in one slice (voxels), sigma = the case's noise
(`noiseSigmaHU` of a `liverseg synth` folder's phantom.json; elsewhere 1.4826 * the median
absolute deviation of the liver's HU, which also counts the liver's texture). The Rose criterion
puts an ideal observer's detection limit near R = 5. "Found": any voxel labelled 2 in the
prediction. The bound for R >= r assumes every lesion with R >= r labelled exactly and no other
tumor: 2·visible / (visible + all) per case, 1 for a case without tumor.
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

BINS = [0, 5, 10, 20, 40, 80, float("inf")]
BOUNDS = [5, 10, 20]


def load(path):
    return np.asarray(nib.load(str(path)).dataobj)


def case_ids(truth):
    return sorted(int(p.name[len("segmentation-"):].split(".")[0]) for p in truth.glob("segmentation-*.nii*"))


def noise_sigmas(truth):
    manifest = truth / "phantom.json"
    if not manifest.exists():
        return {}
    return {c["index"]: c["noiseSigmaHU"] for c in json.loads(manifest.read_text())["cases"]}


def lesions(truth, pred, sigmas):
    """Per case: [(voxels, R, found share)] and the case's tumor voxels."""
    out = {}
    for i in case_ids(truth):
        t = load(next(truth.glob(f"segmentation-{i}.nii*")))
        p = load(next(pred.glob(f"segmentation-{i}.nii*")))
        ct = load(next(truth.glob(f"volume-{i}.nii*"))).astype(np.float32)
        liver = ct[t == 1]
        median = float(np.median(liver))
        sigma = sigmas.get(i) or 1.4826 * float(np.median(np.abs(liver - median)))
        lab, n = ndi.label(t == 2, structure=np.ones((3, 3, 3)))
        rows = []
        for k in range(1, n + 1):
            m = lab == k
            area = int(m.sum(axis=(0, 1)).max())
            r = abs(median - float(np.median(ct[m]))) / sigma * np.sqrt(area)
            rows.append((int(m.sum()), r, float((p[m] == 2).mean())))
        out[i] = (rows, int((t == 2).sum()))
    return out


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    every = []
    for truth, pred in zip(args[::2], args[1::2]):
        truth, pred = Path(truth), Path(pred)
        cases = lesions(truth, pred, noise_sigmas(truth))
        bounds = {}
        for r in BOUNDS:
            per_case = []
            for rows, total in cases.values():
                visible = sum(v for v, rr, _ in rows if rr >= r)
                per_case.append(1.0 if total == 0 else 2 * visible / (visible + total))
            bounds[r] = np.mean(per_case)
        print(f"{truth}: {len(cases)} cases; per-case tumor Dice bound " +
              ", ".join(f"R >= {r}: {b:.3f}" for r, b in bounds.items()))
        every += [row for rows, _ in cases.values() for row in rows]
    print("R        lesions  found  share of their voxels labelled tumor")
    for lo, hi in zip(BINS, BINS[1:]):
        sel = [row for row in every if lo <= row[1] < hi]
        if sel:
            name = f"{lo}-{hi}" if hi != float("inf") else f"{lo}+"
            print(f"{name:8} {len(sel):7d} {sum(s > 0 for _, _, s in sel):6d}  {np.mean([s for _, _, s in sel]):.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
