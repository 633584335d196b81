#!/usr/bin/env python3
"""Checks a `liverseg synth` dataset with nibabel, independently of the Swift reader.

Usage: python3 scripts/check_phantom.py DIR   (needs nibabel and numpy; exits 1 on any failure)

For every case in DIR/phantom.json it opens volume-i.nii.gz and segmentation-i.nii.gz with
nibabel and checks: the declared shape, affine, spacing and axis codes; the on-disk types and
scaling (int16 with scl_inter, or float32; uint8 labels); labels within {0, 1, 2}; HU within
the CT range; per-label voxel counts and HU means equal to what the generator reported; and
the attenuation ranges of the issue (liver 100-130 HU, tumors darker, fat, air).
"""
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np


def main(folder):
    d = Path(folder)
    manifest = json.loads((d / "phantom.json").read_text())
    size = manifest["size"]
    errors = []

    def check(cond, msg):
        if not cond:
            errors.append(msg)

    print(f"{'case':>4} {'shape':>16} {'spacing (mm)':>20} {'axes':>4} {'dtype':>8} {'liver HU':>9} {'tumor HU':>9} {'lesions':>7}")
    for c in manifest["cases"]:
        i = c["index"]
        vol = nib.load(str(d / f"volume-{i}.nii.gz"))
        seg = nib.load(str(d / f"segmentation-{i}.nii.gz"))
        tag = f"case {i}"
        check(list(vol.shape) == c["shape"], f"{tag}: volume shape {vol.shape} != declared {c['shape']}")
        check(list(seg.shape) == c["shape"], f"{tag}: segmentation shape {seg.shape} != declared {c['shape']}")
        declared = np.array(c["affine"]).reshape(4, 4)
        check(np.allclose(vol.affine, declared, atol=1e-4), f"{tag}: volume affine\n{vol.affine}\n!= declared\n{declared}")
        check(np.allclose(seg.affine, vol.affine, atol=1e-6), f"{tag}: segmentation affine differs from the volume's")
        zooms = vol.header.get_zooms()
        check(np.allclose(zooms, c["spacing"], atol=1e-4), f"{tag}: zooms {zooms} != spacing {c['spacing']}")
        codes = "".join(nib.aff2axcodes(vol.affine))
        check(codes == c["axisCodes"] and codes in ("RAS", "LPS"), f"{tag}: axis codes {codes} (declared {c['axisCodes']})")
        s = 512.0 / size
        check(0.6 * s - 1e-4 <= zooms[0] <= 0.9 * s + 1e-4, f"{tag}: in-plane spacing {zooms[0]}")
        check(0.7 - 1e-4 <= zooms[2] <= 5 + 1e-4, f"{tag}: slice thickness {zooms[2]}")
        dtype = vol.get_data_dtype()
        if dtype == np.int16:
            # nibabel moves scl_slope/scl_inter from the header onto the array proxy when loading.
            slope, inter = float(vol.dataobj.slope), float(vol.dataobj.inter)
            check(slope == 1 and inter in (0, -1024), f"{tag}: int16 scaling slope {slope} inter {inter}")
        else:
            check(dtype == np.float32, f"{tag}: volume dtype {dtype}")
        check(seg.get_data_dtype() == np.uint8, f"{tag}: segmentation dtype {seg.get_data_dtype()}")
        hu = np.asarray(vol.dataobj, dtype=np.float64)
        lab = np.asarray(seg.dataobj)
        check(set(np.unique(lab).tolist()) <= {0, 1, 2}, f"{tag}: labels {np.unique(lab)}")
        check(hu.min() >= -1024 and hu.max() <= 3071, f"{tag}: HU range {hu.min()}..{hu.max()}")
        stats = c["stats"]
        means = {}
        for name, l in (("background", 0), ("liver", 1), ("tumor", 2)):
            m = lab == l
            n = int(m.sum())
            check(n == stats[name]["count"], f"{tag}: {name} voxels {n} != reported {stats[name]['count']}")
            if n:
                means[name] = float(hu[m].mean())
                check(abs(means[name] - stats[name]["mean"]) < 1e-3 * max(1, abs(means[name])),
                      f"{tag}: {name} mean {means[name]:.3f} != reported {stats[name]['mean']:.3f}")
        check(c["liverVoxels"] == int((lab == 1).sum()) and c["tumorVoxels"] == int((lab == 2).sum()), f"{tag}: voxel counts")
        lm = means.get("liver", float("nan"))
        check(95 <= lm <= 140, f"{tag}: liver mean {lm:.1f} HU outside 100-130 (±partial volume)")
        if (lab == 2).sum() > 200:
            check(means["tumor"] < lm - 5, f"{tag}: tumor mean {means['tumor']:.1f} not below liver {lm:.1f}")
        if stats["fat"]["count"]:
            check(-130 <= stats["fat"]["mean"] <= -70, f"{tag}: fat mean {stats['fat']['mean']:.1f}")
        # A corner voxel is air outside the body.
        check(hu[0, 0, 0] < -900, f"{tag}: corner voxel {hu[0, 0, 0]} is not air")
        visible = sum(1 for t in c["tumors"] if t["voxels"] > 0)
        print(f"{i:>4} {str(tuple(vol.shape)):>16} {'%.3f×%.3f×%.2f' % tuple(zooms):>20} {codes:>4} {str(dtype):>8} "
              f"{lm:9.1f} {means.get('tumor', float('nan')):9.1f} {visible:7d}")
    if errors:
        print("\n".join(["FAILED:"] + errors))
        return 1
    print(f"OK: {len(manifest['cases'])} case(s) open in nibabel {nib.__version__} with the declared geometry and labels")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
