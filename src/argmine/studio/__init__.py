"""Label Studio at argmine's edge: the server, the SDK client, push, pull, the label config.

Only this package imports ``label_studio_sdk`` (and only in :mod:`argmine.studio.client`). The
JSON file format (tasks, predictions, exports) is :mod:`argmine.corpora.labelstudio`, pure JSON,
so it can be used (and tested) without a server.
"""
