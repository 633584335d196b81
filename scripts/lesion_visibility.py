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

R assumes white noise. The second measure does not: a lesion's detectability d' is its whole
3-D mask's mean HU against the means of the same shape laid at 200 random places in the case's
lesion-free liver (label 1, 2 voxels away from any lesion): d' = |median of those - lesion's| /
their spread. It counts the scanner's correlated noise, the liver's texture and its vessels, as
a matched filter that knows where to look sees them (docs/experiments.md, session 30). A search
of the whole liver with few false lesions needs d' of about 4-5 (an ideal observer). Rim lesions,
whose mean is near the liver's, score low on both measures.
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

BINS = [0, 5, 10, 20, 40, 80, float("inf")]
BOUNDS = [5, 10, 20]
D_BINS = [0, 2, 4, 6, 8, 12, 20, float("inf")]
D_BOUNDS = [4, 5, 6]


def load(path):
    return np.asarray(nib.load(str(path)).dataobj)


def case_ids(truth):
    return sorted(int(p.name[len("segmentation-"):].split(".")[0]) for p in truth.glob("segmentation-*.nii*"))


def noise_sigmas(truth):
    manifest = truth / "phantom.json"
    if not manifest.exists():
        return {}
    return {c["index"]: c["noiseSigmaHU"] for c in json.loads(manifest.read_text())["cases"]}


def detectability(ct, box, lesion, free, rng, places=200):
    """d' of one lesion: `lesion` is its mask within `box` (its bounding box's slices), `free`
    the lesion-free liver. NaN when fewer than 20 places in the liver hold the shape."""
    idx = np.nonzero(lesion)
    means = []
    for _ in range(150 * places):
        if len(means) == places:
            break
        at = tuple(idx[a] + rng.integers(0, ct.shape[a] - lesion.shape[a] + 1) for a in range(3))
        if free[at].all():
            means.append(float(ct[at].mean()))
    if len(means) < 20:
        return float("nan")
    return abs(float(np.median(means)) - float(ct[box][lesion].mean())) / float(np.std(means))


def lesions(truth, pred, sigmas):
    """Per case: [(voxels, R, found share, d')] and the case's tumor voxels."""
    out = {}
    rng = np.random.default_rng(0)
    for i in case_ids(truth):
        t = load(next(truth.glob(f"segmentation-{i}.nii*")))
        p = load(next(pred.glob(f"segmentation-{i}.nii*")))
        ct = load(next(truth.glob(f"volume-{i}.nii*"))).astype(np.float32)
        liver = ct[t == 1]
        median = float(np.median(liver))
        sigma = sigmas.get(i) or 1.4826 * float(np.median(np.abs(liver - median)))
        lab, n = ndi.label(t == 2, structure=np.ones((3, 3, 3)))
        free = (t == 1) & ~ndi.binary_dilation(t == 2, iterations=2)
        rows = []
        for k, box in enumerate(ndi.find_objects(lab), start=1):
            m = lab[box] == k   # within its bounding box: one lesion's work stays its own size
            area = int(m.sum(axis=(0, 1)).max())
            r = abs(median - float(np.median(ct[box][m]))) / sigma * np.sqrt(area)
            d = detectability(ct, box, m, free, rng)
            rows.append((int(m.sum()), r, float((p[box][m] == 2).mean()), d))
        out[i] = (rows, int((t == 2).sum()))
    return out


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    every = []
    for truth, pred in zip(args[::2], args[1::2]):
        truth, pred = Path(truth), Path(pred)
        cases = lesions(truth, pred, noise_sigmas(truth))
        print(f"{truth}: {len(cases)} cases; per-case tumor Dice bound " +
              ", ".join(f"R >= {r}: {bound(cases, 1, r):.3f}" for r in BOUNDS) + "; " +
              ", ".join(f"d' >= {d}: {bound(cases, 3, d):.3f}" for d in D_BOUNDS))
        every += [row for rows, _ in cases.values() for row in rows]
    table(every, 1, BINS, "R")
    table(every, 3, D_BINS, "d'")
    unmeasured = sum(1 for row in every if np.isnan(row[3]))
    if unmeasured:
        print(f"({unmeasured} lesion(s) without d': the liver holds too few places of their shape; the d' bounds count them visible)")


def bound(cases, column, at_least):
    """Mean per-case Dice with every lesion whose `column` is >= at_least (or unmeasured) exact."""
    per_case = []
    for rows, total in cases.values():
        visible = sum(row[0] for row in rows if not row[column] < at_least)
        per_case.append(1.0 if total == 0 else 2 * visible / (visible + total))
    return float(np.mean(per_case))


def table(every, column, bins, name):
    print(f"{name:8} lesions  found  share of their voxels labelled tumor")
    for lo, hi in zip(bins, bins[1:]):
        sel = [row for row in every if lo <= row[column] < hi]
        if sel:
            label = f"{lo}-{hi}" if hi != float("inf") else f"{lo}+"
            print(f"{label:8} {len(sel):7d} {sum(row[2] > 0 for row in sel):6d}  {np.mean([row[2] for row in sel]):.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
