"""Studies over many systems: weight sweeps and further training seeds, each merged, indexed and
evaluated as its own evaluate stage would."""
