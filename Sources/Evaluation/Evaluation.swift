// Evaluation module: see DESIGN.md.
