"""The torch-free core: formulas, layer rules, explanations, specs, receptive fields."""
