"""The local run browser behind ``kfp-mlops ui``: server-side HTML and inline SVG, no JavaScript."""
