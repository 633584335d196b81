// Segmentation module: see DESIGN.md.
