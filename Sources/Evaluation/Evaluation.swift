// Evaluation: how good is a segmentation, in the seed paper's terms and the LiTS challenge's.
//
// - `ConfusionCounts`, `ContingencyTable`: overlap ratios, pixel accuracy, Rand / adjusted Rand.
// - `SurfaceDistances`: ASSD, MSSD (Hausdorff), HD95 in mm, medpy's definitions, exact EDT.
// - `ROCAccumulator` / `ROC`: ROC curve, AUC, the seed's restricted AUC, ROC-chosen thresholds.
// - `LesionMetrics`: 26-connected lesions, detection at IoU > 0.5, volumes, tumor burden.
// - `CaseEvaluator`: all of the above for one label map pair → `CaseMetrics` (JSON keys per issue 5).
// - `DatasetEvaluation`, `DatasetAccumulator`: per-case tables and aggregates (Dice per case / global).
// - `DatasetEvaluator`: NIfTI files or LiTS folders → `DatasetEvaluation` (the `evaluate` command).
// - `Figures`, `TrainingHistory`, `Report`: PNG figures, JSON/CSV, the static HTML report.
