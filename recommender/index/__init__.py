"""Index stage: every article's top-K candidates and their neighbourhood affinity."""
