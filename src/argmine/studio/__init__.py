"""Label Studio at argmine's edge: label config, tasks and predictions, export import, server.

Only this package imports ``label_studio_sdk`` (and only in :mod:`argmine.studio.client`);
:mod:`argmine.studio.convert` is pure JSON so it can be used (and tested) without a server.
"""
