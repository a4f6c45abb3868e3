"""What every Burrow program shares: paths, settings, the model, errors and helpers."""
