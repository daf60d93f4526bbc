"""API kernel: the bases every app's ``api/`` package is a few lines on top of."""
