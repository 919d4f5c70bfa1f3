"""argmine as a Label Studio ML backend and an HTTP tagging API (``argmine serve``).

- :mod:`argmine.serve.app`: the FastAPI app (Label Studio's ML backend protocol, ``/tag``);
- :mod:`argmine.serve.batching`: concurrent requests tagged in shared batches on one thread;
- :mod:`argmine.serve.versions`: every model version its own directory, one promoted pointer;
- :mod:`argmine.serve.jobs` and :mod:`argmine.serve.worker`: retraining in a separate process,
  promoted only if it scores higher on the project's frozen dev set;
- :mod:`argmine.serve.connect`: hooking the backend up to a Label Studio project.

FastAPI and uvicorn are the ``serve`` extra (``pip install argmine[serve]``).
"""
