"""The notebooks' logic, one question per module, so that notebook cells stay short and tested.

- :mod:`~imgclass.exploration.sampling`: fixed-seed, class-stratified subsets of a data set.
- :mod:`~imgclass.exploration.reencode`: the same pixels re-encoded in memory (PNG, JPEG q50/q90, WEBP) (notebook 01).
- :mod:`~imgclass.exploration.tree_binning` and :mod:`~imgclass.exploration.range_fitting`: one-hot ranges (02).
- :mod:`~imgclass.exploration.thresholds`: accuracy and confusion matrix of a cut on a score (03, 04).
- :mod:`~imgclass.exploration.blur_sweep`: bilateral previews and accuracy against blur level (03).
- :mod:`~imgclass.exploration.colour_preview`: the top-N colour preview and share curves (04).
- :mod:`~imgclass.exploration.tcp_demo`: a live ``ImageServer``/``ImageClient`` round trip (05).
- :mod:`~imgclass.exploration.metrics`: the poster's table under each protocol, and how it moves with n (06).
"""
