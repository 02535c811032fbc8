"""Composition roots, one per role: the only place that picks storage adapters and wires
the services.

- ``services.py``: what every role shares: open the data directory's stores and build the
  services over them (profiles, segments, models and their training jobs, decisions, the
  event writer), with the projections rebuilt from the log.
- ``server.py``: the ``serve`` role: the services, the background worker (embedded, in the
  same process) and the HTTP app over them; running it on granian.
- ``worker.py``: the background role: model refresh and scheduled retraining, following
  the stream of stored events, warming the decision side's per-customer lists.
- ``command.py``: a one-shot command's services, without HTTP and without background work.
- ``following.py``: the thread that takes up the definitions other processes store.

The command line imports this package only inside the commands that need it.
"""
