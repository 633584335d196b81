// NeuralNet module: see DESIGN.md.
