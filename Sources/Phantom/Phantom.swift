// Phantom module: see DESIGN.md.
