"""The built-in demo: writes synthetic prefecture reports (``python -m demo --out data/demo``) that the pipeline
then loads like any other files. Outside the loader's package: it produces input, it does not load it."""
