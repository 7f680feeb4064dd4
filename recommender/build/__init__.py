"""Build stage: training a model version from a corpus, and the scheduled retraining job."""
