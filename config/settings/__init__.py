"""Settings package: ``base`` reads the environment; ``test`` tunes it for pytest."""
