"""DVC entry points: one module per dvc.yaml stage, each a short main() over the koen library."""
