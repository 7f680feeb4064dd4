"""The model artefact: its on-disk format, the version store, and the loaded read-only model."""
