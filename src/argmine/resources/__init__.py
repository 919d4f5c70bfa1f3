"""Files shipped inside the package: ``configs/`` holds copies of the repository's
``configs/labels.yaml``, ``lexicon.yaml`` and ``segmenter.yaml``, so an installed argmine works
outside a checkout. Inside a checkout the repository's ``configs/`` wins (it is the copy users
edit); ``tests/test_config_packaged.py`` keeps these copies byte-identical to it. Read them with
:func:`argmine.config.find_config` (``importlib.resources`` underneath).
"""
