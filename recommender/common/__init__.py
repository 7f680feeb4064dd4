"""Small pieces every stage shares, with no dependencies on the rest of the package."""
