// Tensor module: see DESIGN.md.
