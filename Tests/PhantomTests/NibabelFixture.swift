// Written by scripts/phantom_nibabel_fixture.py from nibabel's reading of a synth dataset; do not edit.
let nibabelFixtureJSON = #"""
{
 "nibabel": "5.4.2",
 "seed": 105,
 "size": 48,
 "slices": 8,
 "tumors": 2,
 "cases": [
  {
   "index": 0,
   "shape": [
    48,
    48,
    8
   ],
   "affine": [
    -8.991427421569824,
    0.0,
    0.0,
    207.35983276367188,
    0.0,
    -8.991427421569824,
    0.0,
    232.9776153564453,
    0.0,
    0.0,
    5.0,
    -274.141845703125,
    0.0,
    0.0,
    0.0,
    1.0
   ],
   "zooms": [
    8.991427421569824,
    8.991427421569824,
    5.0
   ],
   "axcodes": "LPS",
   "dtype": "int16",
   "slope": 1.0,
   "inter": -1024.0,
   "labelDtype": "uint8",
   "labelCounts": [
    17254,
    1140,
    38
   ],
   "meanHU": [
    -571.6466326648894,
    118.2078947368421,
    69.21052631578948
   ],
   "minHU": -1024.0,
   "maxHU": 899.0
  },
  {
   "index": 1,
   "shape": [
    48,
    48,
    8
   ],
   "affine": [
    8.30141544342041,
    0.0,
    0.0,
    -171.81918334960938,
    0.0,
    8.30141544342041,
    0.0,
    -225.0196075439453,
    0.0,
    0.0,
    5.0,
    -125.06565856933594,
    0.0,
    0.0,
    0.0,
    1.0
   ],
   "zooms": [
    8.30141544342041,
    8.30141544342041,
    5.0
   ],
   "axcodes": "RAS",
   "dtype": "int16",
   "slope": 1.0,
   "inter": 0.0,
   "labelDtype": "uint8",
   "labelCounts": [
    18059,
    370,
    3
   ],
   "meanHU": [
    -647.624896173653,
    114.75675675675676,
    65.0
   ],
   "minHU": -1024.0,
   "maxHU": 949.0
  }
 ]
}
"""#
